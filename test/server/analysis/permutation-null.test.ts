import assert from "node:assert/strict";
import { test } from "node:test";
import { permutationNull, sortedQuantile } from "../../../server/analysis/permutation-null.js";
import { criticalAbsR } from "../../../server/analysis/significance.js";
import { StreamingStats } from "../../../server/analysis/streaming-stats.js";
import { assertClose, gaussians } from "./helpers.js";

test("null 99.9th percentile of |r| at N = 1000 is near theory; observed r and p-values are right", async () => {
  const [n, p, f, layers] = [1000, 2, 250, 2];
  const y = gaussians(n, 1);
  const acts = [0, 1].map((l) => Float32Array.from(gaussians(n * p * f, 10 + l, 3, 2)));
  for (let s = 0; s < n; s++) acts[1][s * p * f + 7] += 2 * y[s];
  const res = await permutationNull({ metric: y, layers, positions: p, neurons: f, activations: (l) => acts[l], permutations: 60, seed: 5, permutationsPerPass: 25 });
  // theory: |r| with two-sided p = 0.001 under H0
  const theory = criticalAbsR(0.001, n);
  assertClose(res.pooledAbsR999, theory, 0.08, 0, "pooled 99.9th percentile");
  // 60 permutations x 1000 neurons: null max |r| sits near the 1 - 1/1000 quantile region, well above the median null
  assert.ok(res.maxAbsR999 > theory * 0.9 && res.maxAbsR999 < 0.2, `max |r| 99.9th ${res.maxAbsR999}`);
  assert.equal(res.nullAbsCounts.reduce((a, b) => a + b, 0), 60 * layers * p * f);
  // observed r equals the streaming statistics
  const stats = new StreamingStats({ layers, positions: p, neurons: f, metrics: ["y"] });
  for (let l = 0; l < layers; l++) stats.update(l, acts[l], y);
  for (let l = 0; l < layers; l++) {
    const r = stats.pearson(l, "y");
    for (let j = 0; j < p * f; j++) assertClose(res.observed[l][j], r[j], 1e-9, 1e-12, `obs ${l}/${j}`);
  }
  // the planted neuron: smallest possible p-values and a BH discovery
  assert.equal(res.pValues[1][7], 1 / (1 + 60 * layers * p * f));
  assert.equal(res.maxPValues[1][7], 1 / 61);
  assert.ok(res.bh.discoveries >= 1 && res.bh.absRThreshold <= Math.abs(res.observed[1][7]));
  // a p-value of a null neuron is roughly uniform: its mean over neurons is near 0.5
  const meanP = res.pValues[0].reduce((a, b) => a + b, 0) / (p * f);
  assertClose(meanP, 0.5, 0.1, 0, "mean null p");
});

test("permutation null is reproducible by seed and checks its input", async () => {
  const y = gaussians(50, 2);
  const x = Float32Array.from(gaussians(50 * 3, 3));
  const run = (seed: number) => permutationNull({ metric: y, layers: 1, positions: 1, neurons: 3, activations: () => x, permutations: 20, seed });
  assert.deepEqual((await run(4)).nullMaxAbsR, (await run(4)).nullMaxAbsR);
  const fromArray = await permutationNull({ metric: y, layers: 1, positions: 1, neurons: 3, activations: [x], permutations: 20, seed: 4 });
  assert.deepEqual(fromArray.nullMaxAbsR, (await run(4)).nullMaxAbsR);
  await assert.rejects(permutationNull({ metric: y, layers: 2, positions: 1, neurons: 3, activations: [x] }), /no activations given for layer 1/);
  assert.notDeepEqual((await run(4)).nullMaxAbsR, (await run(5)).nullMaxAbsR);
  await assert.rejects(permutationNull({ metric: y, layers: 1, positions: 1, neurons: 4, activations: () => x }), /activations of layer 0 .* has length 150, expected 200/);
  await assert.rejects(permutationNull({ metric: new Float64Array(50).fill(1), layers: 1, positions: 1, neurons: 3, activations: () => x }), /metric is constant/);
});

test("sortedQuantile interpolates like numpy", () => {
  assert.equal(sortedQuantile(Float64Array.from([1, 2, 3, 4]), 0.5), 2.5);
  assertClose(sortedQuantile(Float64Array.from([0, 10]), 0.999), 9.99, 1e-12, 0, "q");
});
