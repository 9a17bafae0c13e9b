import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../../gpu-runner/train/rng.js";

test("same seed, same stream; state round trip continues the stream", () => {
  const a = Rng.fromSeed(42);
  const b = Rng.fromSeed(42);
  for (let i = 0; i < 10; i++) assert.equal(a.nextU32(), b.nextU32());
  const saved = a.state();
  const next = [a.uniform(), a.normal(), a.int(7)];
  const c = Rng.fromState(saved);
  assert.deepEqual([c.uniform(), c.normal(), c.int(7)], next);
  assert.notEqual(Rng.fromSeed(43).nextU32(), Rng.fromSeed(42).nextU32());
});

test("uniform and normal moments, shuffle is a permutation", () => {
  const r = Rng.fromSeed(7);
  const N = 20000;
  let su = 0, sn = 0, sn2 = 0;
  for (let i = 0; i < N; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    su += u;
    const z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  assert.ok(Math.abs(su / N - 0.5) < 0.01);
  assert.ok(Math.abs(sn / N) < 0.03);
  assert.ok(Math.abs(sn2 / N - 1) < 0.05);
  const p = r.shuffle(Int32Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.throws(() => Rng.fromState([1, 2, 3] as never), /four unsigned/);
});
