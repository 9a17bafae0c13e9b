import assert from "node:assert/strict";
import { test } from "node:test";
import { counterexampleIndices } from "../../../server/metrics/counterexamples.js";
import { metricFromPairs } from "../../../server/metrics/pairs.js";
import { MetricError } from "../../../server/metrics/types.js";

test("metricFromPairs follows run order and leaves NaN for samples not given", () => {
  const v = metricFromPairs(["a", "b", "c", "d"], [{ id: "c", value: 3 }, { id: "a", value: -1.5 }, { id: "d", value: 0 }]);
  assert.ok(v instanceof Float64Array);
  assert.deepEqual([...v], [-1.5, Number.NaN, 3, 0]);
});

test("metricFromPairs errors: unknown id, repeated id, non-finite value, repeated run id", () => {
  const fails = (f: () => unknown, text: string) => assert.throws(f, (e: unknown) => e instanceof MetricError && e.message.includes(text));
  fails(() => metricFromPairs(["a", "b"], [{ id: "z", value: 1 }], "m"), '"z" is not a validation sample');
  fails(() => metricFromPairs(["a", "b"], [{ id: "a", value: 1 }, { id: "a", value: 2 }]), "given twice");
  fails(() => metricFromPairs(["a", "b"], [{ id: "a", value: Number.NaN }]), "finite");
  fails(() => metricFromPairs(["a", "b"], [{ id: "a", value: Infinity }]), "finite");
  fails(() => metricFromPairs(["a", "a"], []), "appears twice");
});

test("counterexamples: the heuristic fires but the label is not the one it predicts, and the reverse", () => {
  // lexical_overlap predicts entailment (class 0).
  const overlap = Float64Array.of(1, 1, 0, 0, 1, Number.NaN);
  const label = Float64Array.of(0, 1, 0, 1, 1, 1);
  assert.deepEqual([...counterexampleIndices(overlap, label, { predicts: 0 })], [1, 2, 4]);
  assert.deepEqual([...counterexampleIndices(overlap, label, { predicts: 0, onlyWhenFired: true })], [1, 4]);
  assert.throws(() => counterexampleIndices(Float64Array.of(2), Float64Array.of(0), { predicts: 0 }), MetricError);
  assert.throws(() => counterexampleIndices(Float64Array.of(1), Float64Array.of(0, 1), { predicts: 0 }), MetricError);
});
