import assert from "node:assert/strict";
import { test } from "node:test";
import { averageRanks, discretize, mutualInformation, pearsonPair, spearman, spearmanColumns, thresholdAccuracy } from "../../../server/analysis/rank-scores.js";
import { Prng } from "../../../server/analysis/prng.js";
import { assertClose, gaussians, readFixture } from "./helpers.js";

interface Fixture { pairs: { name: string; x: number[]; y: number[]; pearson_r: number; spearman_rho: number }[] }

test("spearman and pearsonPair match scipy (ties included)", () => {
  for (const p of readFixture<Fixture>("scipy-reference.json").pairs) {
    assertClose(spearman(p.x, p.y), p.spearman_rho, 1e-9, 1e-12, `spearman ${p.name}`);
    assertClose(pearsonPair(p.x, p.y), p.pearson_r, 1e-9, 1e-12, `pearson ${p.name}`);
  }
  assert.deepEqual(Array.from(averageRanks([10, 20, 10, 5, 20, 20])), [2.5, 5, 2.5, 1, 5, 5]);
  assert.throws(() => spearman([1, 2], [1]), /x has length 2 but y has 1/);
});

test("spearmanColumns equals spearman per column", () => {
  const rng = new Prng(4);
  const [n, cols] = [80, 6];
  const x = Float32Array.from({ length: n * cols }, () => rng.nextInt(10));
  const y = Float64Array.from({ length: n }, () => rng.nextGaussian());
  const rho = spearmanColumns(x, cols, y);
  for (let j = 0; j < cols; j++) {
    const col = Array.from({ length: n }, (_, s) => x[s * cols + j]);
    assert.equal(rho[j], spearman(col, y));
  }
  assert.deepEqual(spearmanColumns(x, cols, y, [4, 1]), Float64Array.from([rho[4], rho[1]]));
  assert.throws(() => spearmanColumns(x, cols, y, [6]), /column 6 is outside/);
});

test("mutual information of a bivariate Gaussian approaches -0.5 log(1 - rho^2)", () => {
  const n = 100000;
  for (const rho of [0, 0.5, 0.8]) {
    const a = gaussians(n, 21);
    const b = gaussians(n, 22);
    const y = Float64Array.from(a, (v, i) => rho * v + Math.sqrt(1 - rho * rho) * b[i]);
    const mi = mutualInformation(a, y, 32);
    const truth = -0.5 * Math.log(1 - rho * rho);
    // binning loses a little information (data-processing inequality); Miller-Madow removes the plug-in bias
    assertClose(mi, truth, 0.06, 0.002, `rho ${rho}`);
  }
});

test("mutual information with a binary metric equals the direct plug-in count plus the Miller-Madow terms", () => {
  const x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
  const y = [0, 0, 0, 1, 0, 1, 1, 1];
  // 2 equal-frequency bins of x: {0.1..0.4} {0.5..0.8}; joint counts: (lo,0)=3 (lo,1)=1 (hi,0)=1 (hi,1)=3
  const h = (ps: number[]) => -ps.reduce((acc, p) => acc + p * Math.log(p), 0);
  const plugin = h([0.5, 0.5]) + h([0.5, 0.5]) - h([3 / 8, 1 / 8, 1 / 8, 3 / 8]);
  const mm = (2 - 1) / 16 + (2 - 1) / 16 - (4 - 1) / 16;
  assertClose(mutualInformation(x, y, 2), plugin + mm, 1e-12, 0, "mi");
  assert.deepEqual(Array.from(discretize([3, 1, 3, 2], 4).codes), [2, 0, 2, 1]);
});

test("threshold accuracy equals a direct count", () => {
  const rng = new Prng(3);
  const n = 500;
  const labels = Float64Array.from({ length: n }, () => (rng.nextFloat() < 0.4 ? 1 : 0));
  const x = Float64Array.from(labels, (l) => -1.2 * l + rng.nextGaussian());
  const train = Array.from({ length: 300 }, (_, i) => i);
  const evaluate = Array.from({ length: 200 }, (_, i) => 300 + i);
  const res = thresholdAccuracy(x, labels, train, evaluate);
  const thr = train.reduce((acc, i) => acc + x[i], 0) / train.length;
  let hits = 0;
  for (const i of evaluate) if ((x[i] > thr) === (labels[i] === 1)) hits++;
  assert.equal(res.threshold, thr);
  assert.equal(res.accuracy, Math.max(hits / 200, 1 - hits / 200));
  assert.equal(res.inverted, true, "label 1 lowers the activation");
  assert.ok(res.accuracy > 0.65);
  assert.throws(() => thresholdAccuracy([1, 2], [0, 2], [0]), /needs 0\/1 labels/);
});
