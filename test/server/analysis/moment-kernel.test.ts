import assert from "node:assert/strict";
import { test } from "node:test";
import { allocBatchSums, computeLayerBatchSums, NEURON_BLOCK } from "../../../server/analysis/moment-kernel.js";
import { Prng } from "../../../server/analysis/prng.js";

/** Mixed-sign float32 activations with magnitudes 2^[-range/2, range/2), some repeated values and zeros. */
function wideData(n: number, range: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (rng.nextFloat() - 0.5) * 2 ** (rng.nextInt(range) - range / 2);
    if (i > 0 && rng.nextFloat() < 0.05) out[i] = out[i - 1];
    if (rng.nextFloat() < 0.01) out[i] = rng.nextFloat() < 0.5 ? 0 : -0;
  }
  return out;
}

function maxOverPositions(range: number, p = 7): { got: Float32Array; want: Float32Array; largest: Float64Array } {
  const [b, f] = [13, NEURON_BLOCK + 37];
  const acts = wideData(b * p * f, range, range);
  const got = new Float32Array(b * f);
  computeLayerBatchSums(acts, b, p, f, new Float64Array(b), 1, allocBatchSums(p * f, 1), got, new Float64Array(NEURON_BLOCK));
  const want = new Float32Array(b * f);
  const largest = new Float64Array(b * f);
  for (let s = 0; s < b; s++) for (let j = 0; j < f; j++) {
    let m = -Infinity;
    for (let q = 0; q < p; q++) {
      m = Math.max(m, acts[s * p * f + q * f + j]);
      largest[s * f + j] = Math.max(largest[s * f + j], Math.abs(acts[s * p * f + q * f + j]));
    }
    want[s * f + j] = m;
  }
  return { got, want, largest };
}

test("the fused max over positions is exact for magnitudes within 2^20 of each other", () => {
  // fewer positions than one sweep of four, exactly one, and one plus a remainder
  for (const p of [2, 4, 7]) {
    const { got, want } = maxOverPositions(20, p);
    // === so that -0 and +0 count as equal
    for (let i = 0; i < want.length; i++) assert.ok(got[i] === want[i], `P=${p}, entry ${i}: ${got[i]} vs ${want[i]}`);
  }
});

test("on extreme ranges (2^80) the max is off by at most a few float64 ulps of the row's largest magnitude", () => {
  const { got, want, largest } = maxOverPositions(80);
  for (let i = 0; i < want.length; i++) {
    // 7 chained max2 per row, each within ~4 float64 ulps of the largest magnitude, then float32 rounding
    assert.ok(Math.abs(got[i] - want[i]) <= 2 ** -45 * largest[i], `entry ${i}: ${got[i]} vs ${want[i]}, largest ${largest[i]}`);
  }
});
