import assert from "node:assert/strict";
import { test } from "node:test";
import { benjaminiHochberg, criticalAbsR, pearsonPValue } from "../../../server/analysis/significance.js";
import { logGamma, regularizedIncompleteBeta } from "../../../server/analysis/special-functions.js";
import { assertClose, readFixture } from "./helpers.js";

interface Fixture {
  pairs: { name: string; x: number[]; pearson_r: number; pearson_p: number }[];
  activations: { N: number; r: number[][]; p: number[][] };
}

test("p-values match scipy.stats.pearsonr (1e-6 relative, 1e-12 absolute for tiny p)", () => {
  const fx = readFixture<Fixture>("scipy-reference.json");
  for (const p of fx.pairs) assertClose(pearsonPValue(p.pearson_r, p.x.length), p.pearson_p, 1e-6, 1e-300, p.name);
  fx.activations.r.forEach((row, k) => row.forEach((r, j) => assertClose(pearsonPValue(r, fx.activations.N), fx.activations.p[k][j], 1e-6, 1e-12, `m${k}[${j}]`)));
  assert.equal(pearsonPValue(1, 10), 0);
  assert.ok(Number.isNaN(pearsonPValue(0.5, 2)));
});

test("special functions against closed forms", () => {
  assertClose(logGamma(10), Math.log(362880), 1e-14, 0, "lgamma(10)");
  assertClose(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14, 0, "lgamma(1/2)");
  assertClose(logGamma(1000.5) - logGamma(1000), 0.5 * Math.log(1000) - 1 / 8000, 1e-6, 0, "lgamma ratio");
  // I_x(1, b) = 1 - (1 - x)^b and I_x(a, 1) = x^a
  assertClose(regularizedIncompleteBeta(1, 3.5, 0.3), 1 - 0.7 ** 3.5, 1e-13, 0, "I(1,b)");
  assertClose(regularizedIncompleteBeta(2.5, 1, 0.8), 0.8 ** 2.5, 1e-13, 0, "I(a,1)");
  // Student t with 1 df (Cauchy): p two-sided for t = 1 is 0.5; r = t / sqrt(df + t^2) with n = 3
  assertClose(pearsonPValue(1 / Math.sqrt(2), 3), 0.5, 1e-12, 0, "cauchy");
  // large n: p at r = 3.2905 / sqrt(n) is ~0.001 (normal limit)
  assertClose(pearsonPValue(3.2905267 / Math.sqrt(1e6), 1e6), 0.001, 1e-4, 0, "normal limit");
  assertClose(pearsonPValue(criticalAbsR(0.01, 50), 50), 0.01, 1e-9, 0, "criticalAbsR inverts");
});

test("Benjamini-Hochberg against a hand-computed example", () => {
  // m = 10, q = 0.05: k*q/m = 0.005, 0.010, ..., 0.050
  // sorted p: 0.001 0.008 0.039 0.041 0.042 0.060 0.074 0.205 0.212 0.216
  // p(5) = 0.042 > 0.025, p(4) = 0.041 > 0.020, p(3) = 0.039 > 0.015, p(2) = 0.008 <= 0.010 -> k = 2
  const p = [0.205, 0.001, 0.039, 0.042, 0.216, 0.008, 0.060, 0.041, 0.074, 0.212, Number.NaN];
  const bh = benjaminiHochberg(p, 0.05);
  assert.deepEqual(bh, { q: 0.05, pThreshold: 0.008, discoveries: 2, tests: 10 });
  // at q = 0.25 the cutoffs are 0.025k and p(10) = 0.216 <= 0.25 -> k = 10
  assert.equal(benjaminiHochberg(p, 0.25).discoveries, 10);
  assert.equal(benjaminiHochberg([0.5, 0.9], 0.05).discoveries, 0);
  assert.throws(() => benjaminiHochberg(p, 0), /q must be in \(0, 1\)/);
});
