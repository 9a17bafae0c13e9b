import assert from "node:assert/strict";
import { test } from "node:test";
import { scoreMetricFromActivations } from "../../../server/analysis/after-the-fact.js";
import { AnalysisError } from "../../../server/analysis/errors.js";
import { permutationNullInWorker, scoreMetricInWorkers } from "../../../server/analysis/parallel.js";
import { permutationNull } from "../../../server/analysis/permutation-null.js";
import { AnalysisWorkerPool } from "../../../server/analysis/worker-pool.js";
import { gaussians, referenceR } from "./helpers.js";

/** Three workers whatever the machine has, so the split is exercised on any core count. */
const pool = new AnalysisWorkerPool(3);

test("scores split over worker threads equal the single-threaded engine bit for bit, and a two-pass float64 Pearson", async () => {
  const [n, p, f] = [150, 3, 3 * 64 + 5];
  const acts = [0, 1].map((l) => Float32Array.from(gaussians(n * p * f, 20 + l, 1, 2)));
  const metric = gaussians(n, 3);
  for (let s = 0; s < n; s++) acts[1]![s * p * f + 2 * f + 150] += 1.5 * metric[s]!;
  for (const s of [4, 40, 77]) metric[s] = Number.NaN; // samples without a value take no part

  const single = scoreMetricFromActivations(acts, metric, p, f);
  const split = await scoreMetricInWorkers(acts, metric, p, f, pool);
  assert.equal(split.samples, n - 3);
  assert.deepEqual(split.r, single.r);
  assert.deepEqual(split.rMaxActivation, single.rMaxActivation);

  // the oracle: columns on both sides of every range boundary, and the planted neuron
  const keep = Array.from({ length: n }, (_, s) => s).filter((s) => Number.isFinite(metric[s]));
  const y = Float64Array.from(keep, (s) => metric[s]!);
  for (const layer of [0, 1]) {
    const x = Float64Array.from({ length: keep.length * p * f }, (_, i) => acts[layer]![keep[Math.floor(i / (p * f))]! * p * f + (i % (p * f))]!);
    for (const j of [0, 65, 66, 130, 131, 2 * f + 150, p * f - 1]) {
      const want = referenceR(x, p * f, j, y);
      assert.ok(Math.abs(split.r[layer]![j]! - want) < 1e-9, `layer ${layer} column ${j}: ${split.r[layer]![j]} vs ${want}`);
    }
  }
  assert.ok(split.r[1]![2 * f + 150]! > 0.5, "the planted neuron");
});

test("a worker's refusal arrives as the engine's typed error", async () => {
  const acts = [Float32Array.from(gaussians(10 * 2 * 128, 5))];
  const metric = gaussians(10, 6);
  metric[3] = Number.POSITIVE_INFINITY;
  await assert.rejects(scoreMetricInWorkers(acts, metric, 2, 128, pool), (e: unknown) => e instanceof AnalysisError && e.code === "NON_FINITE");
});

test("the permutation null on a worker equals the one on the caller's thread, which stays free meanwhile", async () => {
  const [n, p, f, layers] = [120, 2, 90, 2];
  const metric = gaussians(n, 8);
  const acts = [0, 1].map((l) => Float32Array.from(gaussians(n * p * f, 30 + l)));
  const options = { metric, layers, positions: p, neurons: f, permutations: 40, seed: 9, permutationsPerPass: 16 };
  const asked: number[] = [];
  let immediateRan = false;
  const pending = permutationNullInWorker({ ...options, activations: async (l) => (asked.push(l), acts[l]!) }, pool);
  setImmediate(() => (immediateRan = true));
  const off = await pending;
  assert.ok(immediateRan, "the caller's event loop turned while the null was computed");
  assert.deepEqual(asked, [0, 1], "each layer handed over once, in order");
  const on = await permutationNull({ ...options, activations: acts });
  assert.deepEqual(off.nullMaxAbsR, on.nullMaxAbsR);
  assert.deepEqual(off.nullAbsCounts, on.nullAbsCounts);
  assert.deepEqual(off.observed, on.observed);
  assert.deepEqual(off.pValues, on.pValues);
  assert.equal(off.maxAbsR999, on.maxAbsR999);
  assert.deepEqual(off.bh, on.bh);
});
