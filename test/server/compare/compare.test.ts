/**
 * Seed stability, cross-run comparison, counterexample sets and alternative scores on hand-made
 * store contents, against values computed by hand (and scipy.stats for KS / Spearman).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ServiceError } from "../../../server/errors.js";
import { alternativeScores, compareRuns, counterexampleAccuracy, jaccard, ksStatistic, seedStability } from "../../../server/compare/index.js";
import { Store } from "../../../server/store/store.js";

let dir: string;
let store: Store;
const runs: Record<string, number> = {};

// max_abs_r scores of metric "m": [layer 0 neurons 0..5, layer 1 neurons 0..5]
const A = [[0.9, 0.1, -0.8, 0.05, 0.3, 0.0], [0.2, -0.7, 0.15, 0.02, 0.01, 0.6]];
const B = [[0.85, 0.2, -0.1, 0.05, 0.75, 0.0], [0.3, -0.8, 0.15, 0.02, 0.01, 0.4]];
const C = [[0.5, 0.6, -0.7, 0.05, 0.3, 0.1], [0.2, -0.75, 0.15, 0.02, 0.01, 0.6]];

async function scored(modelId: number, taskId: number, table: number[][]): Promise<number> {
  const id = await store.createRun({ modelId, taskId, config: { options: {} } });
  await store.writeScores(id, table.map((r, layer) => ({
    metric: "m", agg: "max_abs_r" as const, layer, position: Int32Array.from(r, (_, i) => i % 2), neuron: Int32Array.from(r, (_, i) => i), r: Float64Array.from(r),
  })));
  await store.writeMetric(id, { name: "m", kind: "column", sampleId: ["s0"], value: Float64Array.of(1) });
  return id;
}

/** The run's analysed samples, ordinal i = ids[i]. */
const valSamples = (ids: string[]) => ids.map((id) => ({ sampleId: id, split: "val", fields: {}, rendered: id, answer: null, label: null }));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-compare-"));
  store = await Store.open(join(dir, "c.duckdb"));
  const model = await store.addModel({ path: "/models/a", family: "gpt2", config: {} });
  const other = await store.addModel({ path: "/models/b", family: "gpt2", config: {} });
  const task = await store.addTask({ name: "t", source: "t.jsonl", template: "{x}", verbalizer: null });
  const task2 = await store.addTask({ name: "t2", source: "t2.jsonl", template: "{x}", verbalizer: null });
  runs.a = await scored(model, task, A);
  runs.b = await scored(model, task, B);
  runs.c = await scored(model, task, C);
  runs.otherModel = await scored(other, task, A);
  runs.otherTask = await scored(model, task2, B);
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("jaccard and KS statistic on hand-computed sets and samples", () => {
  assert.equal(jaccard(["a", "b", "c"], ["b", "c", "d", "e"]), 2 / 5);
  assert.equal(jaccard([], []), 1);
  assert.equal(ksStatistic([1, 2, 3], [1.5, 2.5, 3.5, 10]), 0.5); // scipy ks_2samp
  assert.equal(ksStatistic([1, 2], [1, 2]), 0);
  assert.equal(ksStatistic([0, 0, 1], [5]), 1);
});

test("seed stability: top-K Jaccard, Spearman over the union, neurons stable across all seeds", async () => {
  const two = await seedStability(store, [runs.a!, runs.b!], { k: 3 });
  assert.equal(two.metrics.length, 1);
  const m = two.metrics[0]!;
  assert.deepEqual(m.topK[0]!.neurons, ["L0.N0", "L0.N2", "L1.N1"]);
  assert.deepEqual(m.topK[1]!.neurons, ["L0.N0", "L1.N1", "L0.N4"]);
  assert.equal(m.pairs[0]!.jaccard, 0.5);
  // union {L0.N0, L0.N2, L1.N1, L0.N4}: |r| A = .9 .8 .7 .3, B = .85 .1 .8 .75 -> rho = 1 - 6*6/(4*15) = 0.4
  assert.ok(Math.abs(m.pairs[0]!.spearman - 0.4) < 1e-12);
  assert.deepEqual(m.stable, [{ layer: 0, neuron: 0, r: [0.9, 0.85] }, { layer: 1, neuron: 1, r: [-0.7, -0.8] }]);

  const three = await seedStability(store, [runs.a!, runs.b!, runs.c!], { k: 3, metrics: ["m"] });
  const t = three.metrics[0]!;
  // C's top 3: L1.N1 (.75), L0.N2 (.7), L0.N1 (.6) / L1.N5 (.6) tie -> layer order keeps L0.N1
  assert.deepEqual(t.topK[2]!.neurons, ["L1.N1", "L0.N2", "L0.N1"]);
  assert.deepEqual(t.pairs.map((p) => [p.runA, p.runB, p.jaccard]), [[runs.a, runs.b, 0.5], [runs.a, runs.c, 0.5], [runs.b, runs.c, 0.2]]);
  assert.ok(Math.abs(t.meanJaccard - 1.2 / 3) < 1e-12);
  assert.deepEqual(t.stable.map((s) => `L${s.layer}.N${s.neuron}`), ["L1.N1"]);
});

test("cross-run comparison: shared top neurons, scatter pairs, per-layer mean |r| and KS shift", async () => {
  const c = await compareRuns(store, [runs.a!, runs.otherTask!], { metric: "m", k: 3, scatterLimit: 3 });
  assert.deepEqual(c.shared.map((s) => [s.layer, s.neuron, s.r]), [[0, 0, [0.9, 0.85]], [1, 1, [-0.7, -0.8]]]);
  // largest |r| in either run first; L0.N2 and L1.N1 tie at 0.8, layer order breaks it
  assert.deepEqual(c.scatter.map((s) => [s.layer, s.neuron, s.r]), [[0, 0, [0.9, 0.85]], [0, 2, [-0.8, -0.1]], [1, 1, [-0.7, -0.8]]]);
  const full = await compareRuns(store, [runs.a!, runs.otherTask!], { metric: "m" });
  assert.equal(full.scatter.length, 12);
  assert.equal(full.layers.length, 2);
  assert.ok(Math.abs(full.layers[0]!.meanAbsR[0]! - 2.15 / 6) < 1e-12);
  assert.ok(Math.abs(full.layers[0]!.meanAbsR[1]! - 1.95 / 6) < 1e-12);
  // scipy.stats.ks_2samp statistics for layer 0 and layer 1
  assert.deepEqual(full.layers.map((l) => l.ks.map((x) => Number(x.toFixed(12)))), [[0, 0.166666666667], [0, 0.166666666667]]);
});

test("comparisons refuse runs of different models (and seed stability different tasks) with typed errors", async () => {
  const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
  await assert.rejects(seedStability(store, [runs.a!, runs.otherModel!]), code("BAD_INPUT"));
  await assert.rejects(seedStability(store, [runs.a!, runs.otherTask!]), code("BAD_INPUT"));
  await assert.rejects(compareRuns(store, [runs.a!, runs.otherModel!], { metric: "m" }), code("BAD_INPUT"));
  await assert.rejects(compareRuns(store, [runs.a!], { metric: "m" }), code("BAD_INPUT"));
  await assert.rejects(compareRuns(store, [runs.a!, 999], { metric: "m" }), code("NOT_FOUND"));
  await assert.rejects(compareRuns(store, [runs.a!, runs.b!], { metric: "zzz" }), code("BAD_STATE"));
  await assert.rejects(seedStability(store, [runs.a!, runs.b!], { k: 0 }), code("BAD_INPUT"));
});

test("counterexample sets: accuracy where the heuristic and the label disagree vs agree", async () => {
  const model = await store.addModel({ path: "/models/ce", family: "gpt2", config: {} });
  const task = await store.addTask({ name: "ce", source: "ce.jsonl", template: "{x}", verbalizer: null });
  const run = await store.createRun({ modelId: model, taskId: task, config: {} });
  const ids = ["s0", "s1", "s2", "s3", "s4", "s5"];
  await store.addSamples(task, valSamples(ids));
  await store.writeSampleOutputs(run, {
    sampleIdx: Int32Array.from([0, 1, 2, 3, 4, 5]), sampleId: ids, loss: new Float64Array(6), goldProb: new Float64Array(6),
    confidence: new Float64Array(6), prediction: ids.map(() => "x"), correct: Uint8Array.from([1, 0, 0, 1, 1, 1]),
  });
  // stored in another order than the outputs: the service matches by sample id
  await store.writeMetric(run, { name: "overlap", kind: "heuristic", sampleId: [...ids].reverse(), value: Float64Array.from([Number.NaN, 1, 0, 0, 1, 1]) });
  await store.writeMetric(run, { name: "label", kind: "builtin", sampleId: ids, value: Float64Array.from([1, 0, 1, 0, 1, 1]) });
  // heuristic by sample: s0 1, s1 1, s2 0, s3 0, s4 1, s5 NaN; it predicts label 1
  const r = await counterexampleAccuracy(store, run, { heuristic: "overlap", predicts: 1 });
  assert.deepEqual(r.disagree, { count: 2, accuracy: 0, sampleIds: ["s1", "s2"] });
  assert.deepEqual(r.agree, { count: 3, accuracy: 1, sampleIds: ["s0", "s3", "s4"] });
  const fired = await counterexampleAccuracy(store, run, { heuristic: "overlap", predicts: 1, onlyWhenFired: true });
  assert.deepEqual([fired.disagree.sampleIds, fired.agree.sampleIds], [["s1"], ["s0", "s4"]]);
  await assert.rejects(counterexampleAccuracy(store, run, { heuristic: "nope", predicts: 1 }), (e: unknown) => e instanceof ServiceError && e.code === "NOT_FOUND");
  await store.writeMetric(run, { name: "count", kind: "column", sampleId: ids, value: Float64Array.from([0, 2, 1, 0, 1, 0]) });
  await assert.rejects(counterexampleAccuracy(store, run, { heuristic: "count", predicts: 1 }), /not 0 or 1/);
});

test("alternative scores per neuron from stored activations, with top-K overlap between scores", async () => {
  const model = await store.addModel({ path: "/models/alt", family: "gpt2", config: {} });
  const task = await store.addTask({ name: "alt", source: "alt.jsonl", template: "{x}", verbalizer: null });
  const run = await store.createRun({ modelId: model, taskId: task, config: {} });
  const N = 10, P = 2, F = 3;
  const y = [0, 1, 0, 1, 0, 1, 0, 1, 1, 0];
  const ids = y.map((_, i) => `q${i}`);
  await store.addSamples(task, valSamples(ids));
  const data = new Float32Array(N * P * F);
  for (let s = 0; s < N; s++) {
    data[(s * P + 0) * F + 0] = -5; // neuron 0: label at position 1, position 0 never the max
    data[(s * P + 1) * F + 0] = y[s]! * 2 + s * 0.01;
    data[(s * P + 0) * F + 1] = Math.sin(7 * s); // neuron 1: unrelated
    data[(s * P + 1) * F + 1] = Math.sin(7 * s) - 1;
    data[(s * P + 0) * F + 2] = s; // neuron 2: max over positions is position 1 = s + 0.5
    data[(s * P + 1) * F + 2] = s + 0.5;
  }
  await store.ingestActivations(run, { shard: 0, batchId: "0", layer: 0, sampleIdx: Int32Array.from(ids, (_, i) => i), nPositions: P, dFF: F, data });
  await store.writeSampleOutputs(run, {
    sampleIdx: Int32Array.from(ids, (_, i) => i), sampleId: ids, loss: new Float64Array(N), goldProb: new Float64Array(N),
    confidence: new Float64Array(N), prediction: ids.map(() => ""), correct: new Uint8Array(N),
  });
  await store.writeMetric(run, { name: "label", kind: "builtin", sampleId: ids, value: Float64Array.from(y) });
  const alt = await alternativeScores(store, run, "label", 0, { k: 1, bins: 4, maxOverPositions: true });
  assert.equal(alt.samples, N);
  assert.equal(alt.reading, "max_over_positions");
  assert.deepEqual([...alt.positions], [-1, -1, -1]);
  // two-pass Pearson of each neuron's max-over-positions activation with y
  const pearson = (x: number[]) => {
    const mx = x.reduce((a, b) => a + b, 0) / N, my = y.reduce((a, b) => a + b, 0) / N;
    let sxy = 0, sxx = 0, syy = 0;
    x.forEach((v, i) => { sxy += (v - mx) * (y[i]! - my); sxx += (v - mx) ** 2; syy += (y[i]! - my) ** 2; });
    return sxy / Math.sqrt(sxx * syy);
  };
  const cols = [y.map((v, s) => Math.fround(v * 2 + s * 0.01)), y.map((_, s) => Math.fround(Math.sin(7 * s))), y.map((_, s) => s + 0.5)];
  cols.forEach((c, f) => assert.ok(Math.abs(alt.scores.pearson[f]! - pearson(c)) < 1e-9, `pearson of neuron ${f}`));
  // neuron 0 is a monotone function of y with ties broken by s inside each class: ranks split the classes perfectly
  assert.ok(Math.abs(alt.scores.spearman[0]! - pearson([...cols[0]!].map((v) => [...cols[0]!].sort((a, b) => a - b).indexOf(v) + 1))) < 1e-12);
  assert.deepEqual(alt.topK.pearson, [0]);
  assert.deepEqual(alt.topK.thresholdAccuracy, [0]);
  assert.equal(alt.scores.thresholdAccuracy![0], 1);
  assert.ok(alt.scores.mutualInformation[0]! > alt.scores.mutualInformation[1]!);
  assert.ok(alt.overlap.some((o) => o.a === "pearson" && o.b === "spearman" && o.jaccard === 1));
  assert.equal(alt.overlap.length, 6);
  // one position only, and a non-binary metric (no threshold accuracy)
  await store.writeMetric(run, { name: "idx", kind: "column", sampleId: ids, value: Float64Array.from(y, (_, i) => i) });
  const pos0 = await alternativeScores(store, run, "idx", 0, { position: 0, k: 2 });
  assert.ok(Math.abs(pos0.scores.pearson[2]! - 1) < 1e-12);
  assert.equal(pos0.scores.thresholdAccuracy, null);
  assert.equal(pos0.overlap.length, 3);
  await assert.rejects(alternativeScores(store, run, "idx", 0, { position: 5 }), (e: unknown) => e instanceof ServiceError && e.code === "BAD_INPUT");
  await assert.rejects(alternativeScores(store, run, "idx", 0, { position: 0, maxOverPositions: true }), (e: unknown) => e instanceof ServiceError && e.code === "BAD_INPUT");

  // default: each neuron at its best position for the metric, as the stored max |r| scores say (neuron 2's r undefined everywhere)
  await assert.rejects(alternativeScores(store, run, "label", 0), (e: unknown) => e instanceof ServiceError && e.code === "BAD_STATE" && /no stored scores/.test(e.message));
  await store.writeScores(run, [{ metric: "label", agg: "max_abs_r", layer: 0, position: Int32Array.of(1, 0, 0), neuron: Int32Array.of(0, 1, 2), r: Float64Array.of(0.9, 0.2, Number.NaN) }]);
  const best = await alternativeScores(store, run, "label", 0, { k: 2, bins: 4 });
  assert.equal(best.reading, "best_position");
  assert.deepEqual([...best.positions], [1, 0, -1]);
  const atPosition = (p: number, f: number) => y.map((_, s) => data[(s * P + p) * F + f]!);
  assert.ok(Math.abs(best.scores.pearson[0]! - pearson(atPosition(1, 0))) < 1e-9);
  assert.ok(Math.abs(best.scores.pearson[1]! - pearson(atPosition(0, 1))) < 1e-9);
  assert.ok(Number.isNaN(best.scores.pearson[2]!) && Number.isNaN(best.scores.spearman[2]!) && Number.isNaN(best.scores.mutualInformation[2]!));
  assert.deepEqual(best.topK.pearson, [0, 1]);
});
