import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Adam } from "../../../gpu-runner/train/adam.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

test("hand-computed two steps (lr 0.1, g = 0.5 then -0.25)", () => {
  const p = Float32Array.of(1);
  const adam = new Adam(1, { lr: 0.1 });
  adam.step(p, Float32Array.of(0.5));
  // step 1: m_hat = g, v_hat = g^2  =>  p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
  assert.ok(Math.abs(p[0] - (1 - 0.05 / (0.5 + 1e-8))) < 1e-7);
  adam.step(p, Float32Array.of(-0.25));
  // m = 0.9*0.05 + 0.1*(-0.25) = 0.02; v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225
  const mhat = 0.02 / (1 - 0.9 ** 2);
  const vhat = 0.00031225 / (1 - 0.999 ** 2);
  const expected = Math.fround(1 - 0.05 / (0.5 + 1e-8)) - (0.1 * mhat) / (Math.sqrt(vhat) + 1e-8);
  assert.ok(Math.abs(p[0] - expected) < 1e-6, `${p[0]} vs ${expected}`);
  assert.ok(Math.abs(p[0] - 0.873366) < 1e-5);
});

test("state round trip continues identically; bad state is rejected", () => {
  const g = [Float32Array.of(0.3, -1), Float32Array.of(-0.2, 0.5), Float32Array.of(1, 1)];
  const a = new Adam(2, { lr: 0.01 });
  const pa = Float32Array.of(0.5, -0.5);
  a.step(pa, g[0]);
  const b = new Adam(2, { lr: 0.01 }, a.state());
  const pb = Float32Array.from(pa);
  for (const gi of g.slice(1)) {
    a.step(pa, gi);
    b.step(pb, gi);
  }
  assert.deepEqual([...pb], [...pa]);
  assert.equal(b.stepCount, 3);
  assert.throws(() => new Adam(3, {}, a.state()), /moments of length 2\/2; the prompt has 3/);
  assert.throws(() => new Adam(2, { lr: -1 }), /adam.lr/);
  assert.throws(() => new Adam(2, { beta1: 1 }), /adam.beta1/);
});

interface TorchAdamCase {
  name: string;
  options: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; weightDecayMode: "l2" | "decoupled" };
  init: number[];
  grads: number[][];
  params: number[][];
}

test("matches torch.optim.Adam / AdamW on the same gradients (committed fixture)", () => {
  const cases = JSON.parse(readFileSync(`${root}test/fixtures/adam/torch-adam.json`, "utf8")) as TorchAdamCase[];
  assert.ok(cases.length >= 3);
  for (const c of cases) {
    const p = Float32Array.from(c.init);
    const adam = new Adam(p.length, c.options);
    c.grads.forEach((g, t) => {
      adam.step(p, Float32Array.from(g));
      for (let i = 0; i < p.length; i++) {
        const want = c.params[t][i];
        assert.ok(Math.abs(p[i] - want) <= 2e-6 * Math.max(1, Math.abs(want)), `${c.name} step ${t + 1} [${i}]: ${p[i]} vs torch ${want}`);
      }
    });
  }
});
