import assert from "node:assert/strict";
import { test } from "node:test";
import { AnalysisError } from "../../../server/analysis/errors.js";
import { gatherMetricValues, StreamingStats } from "../../../server/analysis/streaming-stats.js";
import { topKByAbs } from "../../../server/analysis/top-k.js";
import { assertClose, gaussians, median, readFixture, referenceR, uniformActivations } from "./helpers.js";

/** Streams acts [N, P, F] of one layer in batches of `batch` rows. */
function streamAll(stats: StreamingStats, layer: number, acts: Float32Array, metrics: Float64Array[], batch: number, from = 0, to?: number): void {
  const cols = stats.shape.positions * stats.shape.neurons;
  const end = to ?? metrics[0].length;
  for (let s0 = from; s0 < end; s0 += batch) {
    const s1 = Math.min(end, s0 + batch);
    const idx = Array.from({ length: s1 - s0 }, (_, i) => s0 + i);
    stats.update(layer, acts.subarray(s0 * cols, s1 * cols), gatherMetricValues(metrics, idx));
  }
}

function makeData(n: number, p: number, f: number, seed: number, mean: number, sd: number): { acts: Float32Array; y: Float64Array[] } {
  const acts = Float32Array.from(gaussians(n * p * f, seed, mean, sd));
  const noise = gaussians(n, seed + 1);
  // metric 0 tracks (position 1, neuron 3); metric 1 is pure noise; metric 2 has a large offset
  const y0 = Float64Array.from(noise, (e, s) => (acts[s * p * f + f + 3] - mean) / sd + e);
  return { acts, y: [y0, gaussians(n, seed + 2), gaussians(n, seed + 3, 1e6, 3)] };
}

for (const [label, mean, sd] of [["standard", 0, 1], ["mean 1e4, variance 1e-4", 1e4, 1e-2]] as const) {
  test(`pearson matches the two-pass float64 reference (${label}), batches of uneven size`, () => {
    const [n, p, f] = [257, 6, 1000];
    const { acts, y } = makeData(n, p, f, 7, mean, sd);
    const stats = new StreamingStats({ layers: 2, positions: p, neurons: f, metrics: ["a", "b", "c"] });
    streamAll(stats, 1, acts, y, 37);
    assert.equal(stats.count(1), n);
    assert.equal(stats.count(0), 0);
    for (const [k, name] of ["a", "b", "c"].entries()) {
      const r = stats.pearson(1, name);
      for (let j = 0; j < p * f; j++) assertClose(r[j], referenceR(acts, p * f, j, y[k]), 1e-9, 1e-12, `${name}[${j}]`);
      const xmax = new Float64Array(n * f);
      for (let s = 0; s < n; s++) for (let q = 0; q < f; q++) {
        let v = -Infinity;
        for (let pp = 0; pp < p; pp++) v = Math.max(v, acts[s * p * f + pp * f + q]);
        xmax[s * f + q] = v;
      }
      const rm = stats.pearsonMaxActivation(1, name);
      for (let q = 0; q < f; q++) assertClose(rm[q], referenceR(xmax, f, q, y[k]), 1e-9, 1e-12, `max ${name}[${q}]`);
    }
    assert.ok(stats.pearson(1, "a")[f + 3] > 0.5, "the planted column correlates");
    assert.ok(stats.pearson(0, "a").every(Number.isNaN), "an unseen layer has undefined r");
  });
}

test("shard merge equals a single stream; snapshots round-trip", () => {
  const [n, p, f] = [300, 3, 700];
  const { acts, y } = makeData(n, p, f, 11, 5, 2);
  const single = new StreamingStats({ layers: 1, positions: p, neurons: f, metrics: ["a", "b", "c"] });
  streamAll(single, 0, acts, y, 50);
  const shardA = new StreamingStats(single.shape);
  const shardB = new StreamingStats(single.shape);
  const shardC = new StreamingStats(single.shape);
  streamAll(shardA, 0, acts, y, 13, 0, 90);
  streamAll(shardB, 0, acts, y, 64, 90, 250);
  streamAll(shardC, 0, acts, y, 1, 250, 300);
  const merged = StreamingStats.fromSnapshot(shardA.toSnapshot());
  merged.merge(shardB);
  merged.merge(shardC.toSnapshot());
  assert.equal(merged.count(0), n);
  for (const name of ["a", "b", "c"]) {
    const r1 = single.pearson(0, name);
    const r2 = merged.pearson(0, name);
    for (let j = 0; j < r1.length; j++) assertClose(r2[j], r1[j], 1e-10, 1e-13, `${name}[${j}]`);
    const m1 = single.pearsonMaxActivation(0, name);
    const m2 = merged.pearsonMaxActivation(0, name);
    for (let j = 0; j < m1.length; j++) assertClose(m2[j], m1[j], 1e-10, 1e-13, `max ${name}[${j}]`);
  }
  const mom = merged.activationMoments(0);
  assertClose(mom.variance[5], single.activationMoments(0).variance[5], 1e-12, 0, "variance");
});

test("matches scipy.stats.pearsonr on the committed fixture, including the max aggregate", () => {
  const fx = readFixture<{ activations: { N: number; P: number; F: number; acts: number[]; metrics: number[][]; r: number[][]; r_max: number[][] } }>("scipy-reference.json").activations;
  const stats = new StreamingStats({ layers: 1, positions: fx.P, neurons: fx.F, metrics: ["m0", "m1"] });
  streamAll(stats, 0, Float32Array.from(fx.acts), fx.metrics.map((m) => Float64Array.from(m)), 8);
  for (const k of [0, 1]) {
    const r = stats.pearson(0, `m${k}`);
    fx.r[k].forEach((want, j) => assertClose(r[j], want, 1e-9, 1e-12, `r m${k}[${j}]`));
    const rm = stats.pearsonMaxActivation(0, `m${k}`);
    fx.r_max[k].forEach((want, j) => assertClose(rm[j], want, 1e-9, 1e-12, `r_max m${k}[${j}]`));
  }
});

test("planted neuron is top-1 and the others sit at |r| ~ 1/sqrt(N)", () => {
  const [n, p, f, layers] = [1000, 2, 1500, 3];
  const y = gaussians(n, 99);
  const stats = new StreamingStats({ layers, positions: p, neurons: f, metrics: ["y"] });
  for (let l = 0; l < layers; l++) {
    const acts = uniformActivations(n * p * f, 100 + l);
    if (l === 2) for (let s = 0; s < n; s++) acts[s * p * f + 1 * f + 1234] = 0.15 * y[s] + acts[s * p * f + f + 1234];
    for (let s0 = 0; s0 < n; s0 += 128) {
      const s1 = Math.min(n, s0 + 128);
      stats.update(l, acts.subarray(s0 * p * f, s1 * p * f), y.subarray(s0, s1));
    }
  }
  const perLayer = Array.from({ length: layers }, (_, l) => ({ layer: l, scores: stats.pearson(l, "y") }));
  const top = topKByAbs(perLayer, 5);
  assert.deepEqual([top[0].layer, top[0].neuron], [2, f + 1234]);
  assert.ok(top[0].score > 0.3);
  const others = Float64Array.from(perLayer[0].scores, Math.abs);
  // median |r| of a null r ~ N(0, 1/N) is 0.6745 / sqrt(N)
  assertClose(median(others), 0.6745 / Math.sqrt(n), 0.1, 0, "median |r|");
});

test("bad input is a typed error and changes nothing", () => {
  const stats = new StreamingStats({ layers: 2, positions: 2, neurons: 3, metrics: ["a"] });
  stats.update(0, Float32Array.from([1, 2, 3, 4, 5, 6, 2, 3, 1, 0, 0, 1]), Float64Array.from([1, 2]));
  const before = stats.toSnapshot();
  const bad = Float32Array.from([1, 2, 3, 4, 5, 6, 2, 3, Number.NaN, 0, 0, 1]);
  assert.throws(() => stats.update(0, bad, Float64Array.from([1, 2])), (e: unknown) => e instanceof AnalysisError && e.code === "NON_FINITE");
  assert.throws(() => stats.update(0, Float32Array.from([1, 2, 3, 4, 5]), Float64Array.from([1])), (e: unknown) => e instanceof AnalysisError && e.code === "SHAPE_MISMATCH");
  assert.throws(() => stats.update(0, Float32Array.from([1, 2, 3, 4, 5, 6]), Float64Array.from([Number.NaN])), /metric "a" has a non-finite/);
  assert.throws(() => stats.update(2, Float32Array.from([1, 2, 3, 4, 5, 6]), Float64Array.from([1])), /layer must be an integer in \[0, 1\]/);
  assert.throws(() => stats.pearson(0, "nope"), /metric "nope" is not in these statistics/);
  assert.deepEqual(stats.toSnapshot(), before);
  const other = new StreamingStats({ layers: 2, positions: 2, neurons: 3, metrics: ["b"] });
  assert.throws(() => stats.merge(other), /cannot merge statistics/);
  const snap = stats.toSnapshot();
  (snap.layers[0] as { m2X: Float64Array }).m2X = new Float64Array(5);
  assert.throws(() => StreamingStats.fromSnapshot(snap), /snapshot.layers\[0\].m2X has length 5, expected 6/);
  assert.deepEqual(stats.toSnapshot(), before);
});

test("a window of neurons read in place from wider rows gives exactly the statistics of those neurons copied out", () => {
  const [n, p, f, from, width] = [40, 3, 200, 70, 130];
  const { acts, y: all } = makeData(n, p, f, 41, 0.5, 2);
  const y = all.slice(0, 2);
  const narrow = new Float32Array(n * p * width);
  for (let s = 0; s < n; s++) for (let q = 0; q < p; q++) narrow.set(acts.subarray((s * p + q) * f + from, (s * p + q) * f + from + width), (s * p + q) * width);
  const shape = { layers: 1, positions: p, neurons: width, metrics: ["a", "b"] };
  const [inPlace, copied] = [new StreamingStats(shape), new StreamingStats(shape)];
  for (let s0 = 0; s0 < n; s0 += 16) {
    const s1 = Math.min(n, s0 + 16);
    const values = gatherMetricValues(y, Array.from({ length: s1 - s0 }, (_, i) => s0 + i));
    inPlace.update(0, acts.subarray(s0 * p * f, s1 * p * f), values, { stride: f, offset: from });
    copied.update(0, narrow.subarray(s0 * p * width, s1 * p * width), values);
  }
  assert.deepEqual(inPlace.toSnapshot(), copied.toSnapshot());
  assert.throws(() => inPlace.update(0, acts.subarray(0, p * f), gatherMetricValues(y, [0]), { stride: f, offset: f - width + 1 }), (e: unknown) => e instanceof AnalysisError && e.code === "BAD_ARGUMENT");
  assert.equal(inPlace.count(0), n, "a refused window changes nothing");
});
