import assert from "node:assert/strict";
import { test } from "node:test";
import { extremalSamples } from "../../../server/analysis/extremal.js";
import { Prng } from "../../../server/analysis/prng.js";
import { ReservoirSet } from "../../../server/analysis/reservoir.js";

const [N, P, F, K] = [120, 3, 5, 4];

/** Activations on a coarse grid (ties likely), [N, P, F]. */
function data(seed: number): Float32Array {
  const rng = new Prng(seed);
  return Float32Array.from({ length: N * P * F }, () => rng.nextInt(25) / 4 - 3);
}

function valueAt(acts: Float32Array, s: number, pos: number | "max", f: number): number {
  if (pos !== "max") return acts[s * P * F + pos * F + f];
  let v = -Infinity;
  for (let p = 0; p < P; p++) v = Math.max(v, acts[s * P * F + p * F + f]);
  return v;
}

function bruteForce(acts: Float32Array, pos: number | "max", f: number, k: number, ids?: number[]) {
  const all = Array.from({ length: N }, (_, s) => ({ sample: ids ? ids[s] : s, value: valueAt(acts, s, pos, f) }));
  return {
    highest: [...all].sort((a, b) => b.value - a.value || a.sample - b.sample).slice(0, k),
    lowest: [...all].sort((a, b) => a.value - b.value || a.sample - b.sample).slice(0, k),
  };
}

test("extremalSamples equals a full sort, at a position and over positions", () => {
  const acts = data(1);
  const ids = Array.from({ length: N }, (_, i) => 1000 - i);
  for (const pos of [0, 2, "max"] as const) {
    for (let f = 0; f < F; f++) {
      assert.deepEqual(extremalSamples(acts, P, F, f, pos, K), bruteForce(acts, pos, f, K));
      assert.deepEqual(extremalSamples(acts, P, F, f, pos, K, ids), bruteForce(acts, pos, f, K, ids));
    }
  }
  assert.throws(() => extremalSamples(acts, P, F, F, 0, K), /neuron must be an integer/);
});

test("reservoirs streamed in batches equal a full sort; shard merge equals one stream; snapshots round-trip", () => {
  const acts = data(2);
  const single = new ReservoirSet({ layers: 2, positions: P, neurons: F, k: K });
  const a = new ReservoirSet(single.shape);
  const b = new ReservoirSet(single.shape);
  for (let s0 = 0; s0 < N; s0 += 16) {
    const s1 = Math.min(N, s0 + 16);
    const idx = Array.from({ length: s1 - s0 }, (_, i) => s0 + i);
    const batch = acts.subarray(s0 * P * F, s1 * P * F);
    single.update(1, batch, idx);
    (s0 < 64 ? a : b).update(1, batch, idx);
  }
  const merged = ReservoirSet.fromSnapshot(a.toSnapshot());
  merged.merge(b);
  for (const pos of [0, 1, 2, "max"] as const) {
    for (let f = 0; f < F; f++) {
      const want = bruteForce(acts, pos, f, K);
      assert.deepEqual(single.extremes(1, pos, f), want);
      assert.deepEqual(merged.extremes(1, pos, f), want);
    }
  }
  assert.deepEqual(single.extremes(0, 0, 0), { highest: [], lowest: [] });
  const before = single.toSnapshot();
  const bad = acts.slice(0, P * F);
  bad[3] = Number.NaN;
  assert.throws(() => single.update(1, bad, [0]), /contain NaN/);
  assert.throws(() => single.update(1, acts.subarray(0, P * F), [0, 1]), /expected 30/);
  assert.deepEqual(single.toSnapshot(), before);
  const onlyMax = new ReservoirSet({ layers: 1, positions: P, neurons: F, k: K, perPosition: false });
  assert.equal(onlyMax.slots, 1);
  assert.throws(() => onlyMax.extremes(0, 1, 0), /no per-position slots/);
  assert.throws(() => merged.merge(onlyMax), /cannot merge reservoirs/);
});
