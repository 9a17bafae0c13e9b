import assert from "node:assert/strict";
import { test } from "node:test";
import { histogram } from "../../../server/analysis/histogram.js";
import { maxAbsOverPositions } from "../../../server/analysis/position-aggregate.js";
import { Prng } from "../../../server/analysis/prng.js";
import { TopKHeap, topKByAbs } from "../../../server/analysis/top-k.js";

test("topKByAbs equals a full sort with (layer, neuron) tie-break, NaN skipped", () => {
  const rng = new Prng(8);
  // values on a coarse grid so that ties are common
  const layers = [2, 0, 1].map((layer) => ({ layer, scores: Float64Array.from({ length: 300 }, () => (rng.nextInt(41) - 20) / 20) }));
  layers[1].scores[5] = Number.NaN;
  const all = layers.flatMap(({ layer, scores }) => Array.from(scores, (score, neuron) => ({ layer, neuron, score })))
    .filter((e) => !Number.isNaN(e.score))
    .sort((a, b) => Math.abs(b.score) - Math.abs(a.score) || a.layer - b.layer || a.neuron - b.neuron);
  for (const k of [1, 17, 100, 899, 2000]) assert.deepEqual(topKByAbs(layers, k), all.slice(0, k));
  assert.deepEqual(topKByAbs([layers[0]], 10), all.filter((e) => e.layer === 2).slice(0, 10));
  assert.deepEqual(topKByAbs(layers, 0), []);
});

test("TopKHeap keeps the largest keys, smaller id first on ties", () => {
  const h = new TopKHeap(3);
  for (const [key, id] of [[1, 5], [3, 9], [3, 2], [2, 1], [3, 4], [0, 0]]) h.push(key, id);
  assert.deepEqual(h.sorted(), [{ key: 3, id: 2 }, { key: 3, id: 4 }, { key: 3, id: 9 }]);
});

test("histogram counts against a direct count; 1.0 lands in the last bin", () => {
  const values = [-1, -0.99, -0.5, 0, 0.049, 0.05, 0.5, 0.999, 1, Number.NaN, 1.5];
  const h = histogram(values, 20);
  const expected = new Float64Array(20);
  for (const v of values) if (!Number.isNaN(v) && v >= -1 && v <= 1) expected[Math.min(19, Math.floor((v + 1) * 10))]++;
  assert.deepEqual(h.counts, expected);
  assert.equal(h.undefinedCount, 1);
  assert.equal(h.outOfRange, 1);
  assert.equal(h.counts[19], 2);
  assert.equal(h.edges.length, 21);
  assert.throws(() => histogram(values, 0), /bins must be an integer/);
});

test("maxAbsOverPositions keeps the signed r and the first position of the max", () => {
  // P = 3, F = 4
  const r = [0.1, -0.5, Number.NaN, 0.2,
    -0.3, 0.5, Number.NaN, 0.1,
    0.2, 0.4, Number.NaN, -0.25];
  const res = maxAbsOverPositions(r, 3, 4);
  assert.deepEqual(Array.from(res.r).map((v) => (Number.isNaN(v) ? "nan" : v)), [-0.3, -0.5, "nan", -0.25]);
  assert.deepEqual(Array.from(res.position), [1, 0, -1, 2]);
  assert.throws(() => maxAbsOverPositions(r, 2, 4), /expected P\*F/);
});
