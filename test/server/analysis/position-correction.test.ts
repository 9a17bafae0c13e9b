import assert from "node:assert/strict";
import { test } from "node:test";
import { permutationNull } from "../../../server/analysis/permutation-null.js";
import { Prng } from "../../../server/analysis/prng.js";
import { pearsonPValue, sidakCorrected } from "../../../server/analysis/significance.js";
import { gaussians, referenceR } from "./helpers.js";

/**
 * p-values for a neuron's best of P positions. Oracles: the Sidak formula evaluated here, a
 * per-neuron permutation null recomputed here with the same shuffles, and the rejection rate of a
 * pure-noise metric, which must stay at or below nominal (and is far above it uncorrected).
 */

/** [N, P, F] activations whose positions follow an AR(1) chain with correlation rho (rho = 0: independent). */
function chainActivations(n: number, positions: number, neurons: number, rho: number, seed: number): Float32Array {
  const e = gaussians(n * positions * neurons, seed);
  const x = new Float32Array(n * positions * neurons);
  const keep = Math.sqrt(1 - rho * rho);
  for (let s = 0; s < n; s++) {
    for (let f = 0; f < neurons; f++) {
      let prev = 0;
      for (let p = 0; p < positions; p++) {
        const i = (s * positions + p) * neurons + f;
        prev = p === 0 ? e[i] : rho * prev + keep * e[i];
        x[i] = prev;
      }
    }
  }
  return x;
}

/** Per neuron: analytic p of its best position, uncorrected and Sidak-corrected (reference r, float64). */
function bestPositionP(x: Float32Array, y: Float64Array, positions: number, neurons: number): { plain: number[]; corrected: number[] } {
  const cols = positions * neurons;
  const plain: number[] = [];
  for (let f = 0; f < neurons; f++) {
    let best = 0;
    for (let p = 0; p < positions; p++) best = Math.max(best, Math.abs(referenceR(x, cols, p * neurons + f, y)));
    plain.push(pearsonPValue(best, y.length));
  }
  return { plain, corrected: plain.map((p) => 1 - (1 - p) ** positions) };
}

const rate = (ps: number[], alpha: number): number => ps.filter((p) => p < alpha).length / ps.length;

test("sidakCorrected is 1 - (1 - p)^m, keeps tiny p's digits, and refuses a bad test count", () => {
  for (const [p, m] of [[0.05, 1], [0.01, 10], [0.3, 4], [0.999, 2]] as const) {
    assert.ok(Math.abs(sidakCorrected(p, m) - (1 - (1 - p) ** m)) < 1e-14, `p ${p}, m ${m}`);
  }
  // 1 - (1 - 1e-20)^20 is 0 in floating point; the correction keeps it at m * p
  assert.ok(Math.abs(sidakCorrected(1e-20, 20) / 2e-19 - 1) < 1e-12);
  assert.equal(sidakCorrected(1, 5), 1);
  assert.ok(Number.isNaN(sidakCorrected(Number.NaN, 5)));
  assert.throws(() => sidakCorrected(0.1, 0), /test count/);
});

test("a noise metric: the best position's plain p rejects far above 5%, the corrected p at or below it; Sidak is near exact when positions are independent", () => {
  const [n, positions, neurons] = [120, 10, 800];
  const y = gaussians(n, 3);
  const independent = bestPositionP(chainActivations(n, positions, neurons, 0, 11), y, positions, neurons);
  const correlated = bestPositionP(chainActivations(n, positions, neurons, 0.9, 12), y, positions, neurons);
  // the bug being fixed: the winner's plain p is read as if its position were fixed in advance
  assert.ok(rate(independent.plain, 0.05) > 0.25, `uncorrected, independent positions: ${rate(independent.plain, 0.05)}`);
  assert.ok(rate(correlated.plain, 0.05) > 0.1, `uncorrected, correlated positions: ${rate(correlated.plain, 0.05)}`);
  // corrected: at most nominal (binomial sd over 800 neurons is 0.8%)
  for (const [what, r] of [["independent", rate(independent.corrected, 0.05)], ["correlated", rate(correlated.corrected, 0.05)]] as const) {
    assert.ok(r <= 0.06, `corrected, ${what} positions: ${r} of neurons at p < 0.05`);
  }
  // not a correction that rejects nothing: independent positions reach about 5%
  assert.ok(rate(independent.corrected, 0.05) >= 0.025, `corrected, independent: ${rate(independent.corrected, 0.05)}`);
});

test("Sidak is conservative against the per-neuron permutation null of the max over positions when positions correlate", async () => {
  const [n, positions, neurons, permutations] = [100, 8, 400, 200];
  const y = gaussians(n, 21);
  const x = chainActivations(n, positions, neurons, 0.9, 22);
  const nul = await permutationNull({ metric: y, layers: 1, positions, neurons, activations: [x], permutations, seed: 4 });
  const exact = Array.from(nul.neuronBestPositionP[0]!);
  const sidak = bestPositionP(x, y, positions, neurons).corrected;
  // pointwise on average: the Sidak p sits above the exact one (it over-counts correlated positions)
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(meanOf(sidak) > meanOf(exact), `mean Sidak p ${meanOf(sidak)} vs permutation ${meanOf(exact)}`);
  for (const alpha of [0.05, 0.1, 0.2]) {
    assert.ok(rate(sidak, alpha) <= rate(exact, alpha) + 0.01, `alpha ${alpha}: Sidak rejects ${rate(sidak, alpha)}, permutation ${rate(exact, alpha)}`);
  }
  // the permutation null itself is calibrated: about alpha of noise neurons fall below alpha
  assert.ok(Math.abs(rate(exact, 0.1) - 0.1) < 0.04, `permutation null at 0.1: ${rate(exact, 0.1)}`);
});

test("neuronBestPositionP equals the max-over-positions permutation p recomputed with the same shuffles", async () => {
  const [n, positions, neurons, permutations, seed] = [30, 4, 6, 50, 9];
  const y = gaussians(n, 31);
  const x = chainActivations(n, positions, neurons, 0.5, 32);
  // neuron 2 follows the metric at position 1: nothing in the null reaches it
  for (let s = 0; s < n; s++) x[(s * positions + 1) * neurons + 2] = 3 * y[s]! + 0.1 * x[(s * positions + 1) * neurons + 2]!;
  const nul = await permutationNull({ metric: y, layers: 1, positions, neurons, activations: [x], permutations, seed });
  // the library standardises y and shuffles it with Prng(seed): the same Fisher-Yates on an index array
  const rng = new Prng(seed);
  const shuffles = Array.from({ length: permutations }, () => {
    const idx = Array.from({ length: n }, (_, i) => i);
    rng.shuffle(idx);
    return Float64Array.from(idx, (i) => y[i]!);
  });
  const cols = positions * neurons;
  const best = (yy: Float64Array, f: number) => Math.max(...Array.from({ length: positions }, (_, p) => Math.abs(referenceR(x, cols, p * neurons + f, yy))));
  for (let f = 0; f < neurons; f++) {
    const observed = best(y, f);
    const reached = shuffles.filter((yy) => best(yy, f) >= observed - 1e-12).length;
    assert.ok(Math.abs(nul.neuronBestPositionP[0]![f]! - (1 + reached) / (1 + permutations)) < 1e-12, `neuron ${f}`);
  }
  assert.equal(nul.neuronBestPositionP[0]![2], 1 / (1 + permutations));
});
