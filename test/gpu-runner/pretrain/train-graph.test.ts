import { test } from "node:test";
import assert from "node:assert/strict";
import { GraphSession, type TensorValue } from "../../../gpu-runner/graph/index.js";
import { Rng } from "../../../gpu-runner/train/rng.js";
import { gpt2ParamSpecs, type Gpt2Shape } from "../../../gpu-runner/pretrain/gpt2-params.js";
import { buildTrainGraph, gradName } from "../../../gpu-runner/pretrain/train-graph.js";
import { spreadGpt2Params } from "../../fixtures/gpt2-params.js";

const TINY: Gpt2Shape = { vocabSize: 11, nPositions: 8, dModel: 8, nLayers: 2, nHeads: 2, dFF: 12, layerNormEps: 1e-5 };
const B = 2;
const T = 6;

function batchFeeds(): Record<string, TensorValue> {
  const rng = Rng.fromSeed(5);
  const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(TINY.vocabSize)));
  const targets = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(TINY.vocabSize)));
  // Second row right-padded after 4 positions: its last two targets do not count.
  const mask = Float64Array.from({ length: B * T }, (_, i) => (i >= T && i % T >= 4 ? 0 : 1));
  return { input_ids: { data: ids, shape: [B, T] }, targets: { data: targets, shape: [B, T] }, loss_mask: { data: mask, shape: [B, T] } };
}

/** The objectives whose gradient is checked: the plain loss, and loss + ffnL1 x ffn_l1 with relu FFNs. */
const GRADIENT_CASES: { what: string; shape: Gpt2Shape; ffnL1: number; scale: number }[] = [
  { what: "the loss (gelu FFNs)", shape: TINY, ffnL1: 0, scale: 10 },
  { what: "loss + ffnL1 x ffn_l1 (relu FFNs)", shape: { ...TINY, activation: "relu" }, ffnL1: 0.7, scale: 20 },
];

for (const c of GRADIENT_CASES) {
  test(`training graph: every parameter's gradient of ${c.what} matches central finite differences (float64)`, async () => {
    const specs = gpt2ParamSpecs(c.shape);
    const graph = { batch: B, seqLen: T, dtype: "float64", withLogits: false } as const;
    const session = await GraphSession.create(buildTrainGraph(c.shape, { ...graph, withGrad: true, ffnL1: c.ffnL1 || undefined }));
    const forward = await GraphSession.create(buildTrainGraph(c.shape, { ...graph, withGrad: false }));
    const params = spreadGpt2Params(c.shape, 3, c.scale);
    const base = batchFeeds();
    const feeds = (p: Map<string, Float64Array>): Record<string, TensorValue> => {
      const f = { ...base };
      for (const s of specs) f[s.name] = { data: p.get(s.name)!, shape: s.shape };
      return f;
    };
    const objective = async (p: Map<string, Float64Array>): Promise<number> => {
      const o = await forward.run(feeds(p));
      return (o.loss.data[0] as number) + c.ffnL1 * (o.ffn_l1.data[0] as number);
    };
    const out = await session.run(feeds(params));
    if (c.ffnL1 > 0) assert.ok((out.ffn_l1.data[0] as number) > 0.05, `mean |activation| ${out.ffn_l1.data[0]}: the penalty would be vacuous`);
    // Copy at once: a later run may reuse the memory behind ORT's output arrays.
    const grads = new Map(specs.map((s) => [s.name, Float64Array.from(out[gradName(s.name)].data as Float64Array)]));
    const rng = Rng.fromSeed(9);
    const eps = 1e-6;
    for (const s of specs) {
      const g = grads.get(s.name)!;
      // Directional derivative along a random direction u: <g, u> vs (J(p + eps u) - J(p - eps u)) / 2 eps.
      const u = Float64Array.from(g, () => rng.normal());
      const norm = Math.hypot(...u);
      for (let i = 0; i < u.length; i++) u[i] /= norm;
      const shifted = (sign: number) => new Map(params).set(s.name, Float64Array.from(params.get(s.name)!, (v, i) => v + sign * eps * u[i]));
      const fd = ((await objective(shifted(1))) - (await objective(shifted(-1)))) / (2 * eps);
      const analytic = g.reduce((acc, v, i) => acc + v * u[i], 0);
      assert.ok(Math.abs(fd - analytic) <= 1e-7 + 1e-6 * Math.abs(fd), `${s.name}: analytic ${analytic} vs finite difference ${fd}`);
      assert.ok(Math.abs(analytic) > 1e-5, `${s.name}: gradient is ~0, the check would be vacuous`);
    }
    await session.release();
    await forward.release();
  });
}

/** A float64 forward graph of `shape` (fixed parameters, batchFeeds' targets and mask) run on given ids. */
async function forwardOn(shape: Gpt2Shape) {
  const specs = gpt2ParamSpecs(shape);
  const session = await GraphSession.create(buildTrainGraph(shape, { batch: B, seqLen: T, dtype: "float64", withGrad: false, withLogits: true }));
  const params = spreadGpt2Params(shape, 4, 10);
  const base = batchFeeds();
  const run = async (ids: BigInt64Array) => {
    const f: Record<string, TensorValue> = { ...base, input_ids: { data: ids, shape: [B, T] } };
    for (const s of specs) f[s.name] = { data: params.get(s.name)!, shape: s.shape };
    return session.run(f);
  };
  return { base, run, session };
}

test("training graph: causal (a later token never changes earlier logits) and loss = masked mean CE of its logits", async () => {
  const { base, run, session } = await forwardOn(TINY);
  const ids = base.input_ids.data as BigInt64Array;
  const a = await run(ids);
  const changed = BigInt64Array.from(ids);
  changed[3] = (changed[3] + 1n) % BigInt(TINY.vocabSize);
  const b = await run(changed);
  const V = TINY.vocabSize;
  const la = a.logits.data as Float64Array;
  const lb = b.logits.data as Float64Array;
  for (let t = 0; t < 3; t++) for (let v = 0; v < V; v++) assert.equal(la[t * V + v], lb[t * V + v]);
  assert.notEqual(la[3 * V], lb[3 * V]);
  // Independent loss from the logits: float64 log-sum-exp per counted position.
  const targets = base.targets.data as BigInt64Array;
  const mask = base.loss_mask.data as Float64Array;
  let sum = 0, n = 0;
  for (let i = 0; i < B * T; i++) {
    if (!mask[i]) continue;
    const row = la.subarray(i * V, (i + 1) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
    sum += lse - row[Number(targets[i])];
    n++;
  }
  assert.ok(Math.abs((a.loss.data[0] as number) - sum / n) < 1e-12);
  await session.release();
});

test("training graph: with an attention window W each layer reaches W - 1 positions back", async () => {
  // Two layers of window 2: token 0 reaches positions 0..2 and no further.
  const { base, run, session } = await forwardOn({ ...TINY, attnWindow: 2 });
  const logits = async (ids: BigInt64Array) => Float64Array.from((await run(ids)).logits.data as Float64Array);
  const ids = base.input_ids.data as BigInt64Array;
  const changed = BigInt64Array.from(ids);
  changed[0] = (changed[0] + 1n) % BigInt(TINY.vocabSize);
  const [a, b] = [await logits(ids), await logits(changed)];
  const V = TINY.vocabSize;
  const row = (l: Float64Array, t: number) => Array.from(l.subarray(t * V, (t + 1) * V));
  for (let t = 0; t <= 2; t++) assert.notDeepEqual(row(a, t), row(b, t), `position ${t} should see token 0`);
  for (let t = 3; t < T; t++) assert.deepEqual(row(a, t), row(b, t), `position ${t} is out of token 0's reach`);
  await session.release();
});
