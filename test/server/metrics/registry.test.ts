import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertNewMetricName, computeAvailableMetrics, computeMetric, listMetrics, MAX_ONE_VS_REST, type MetricContext } from "../../../server/metrics/registry.js";
import { metricFromPairs } from "../../../server/metrics/pairs.js";
import { MetricError, type SampleOutput } from "../../../server/metrics/types.js";
import { parseInlineRows } from "../../../server/tasks/read.js";
import { parseVerbalizer } from "../../../server/tasks/verbalizer.js";

const SPLIT = { valFraction: 0.5, seed: 1 };
const nliVerbalizer = parseVerbalizer({ entailment: "yes", "non-entailment": "no" });
const nliRows = parseInlineRows([
  { id: "h1", premise: "The doctor saw the lawyer.", hypothesis: "The lawyer saw the doctor.", label: "non-entailment", loss: 7 },
  { id: "h2", premise: "The doctor near the actor danced.", hypothesis: "The actor danced.", label: "entailment", loss: 8 },
  { id: "h3", premise: "The doctor saw the lawyer.", hypothesis: "The doctor slept.", label: "non-entailment" },
  { id: "h4", premise: "The judge and the artist slept.", hypothesis: "The judge slept.", label: "entailment", answer: "yes indeed", loss: 9 },
], { split: SPLIT, verbalizer: nliVerbalizer });

const outputs: SampleOutput[] = [
  { loss: 0.5, goldProb: 0.6, confidence: 0.7, contentToken: 1, contentLoss: 0.9, contentConfidence: 0.4, prediction: "no", correct: true, answerTokens: 1 },
  { loss: 1.5, goldProb: 0.2, confidence: 0.8, contentToken: 0, contentLoss: 1.6, contentConfidence: 0.8, prediction: "no", correct: false, answerTokens: 1 },
  { loss: 0.1, goldProb: 0.9, confidence: 0.9, contentToken: -1, contentLoss: Number.NaN, contentConfidence: Number.NaN, prediction: "no", correct: true },
  { loss: 2.5, goldProb: 0.1, confidence: 0.6, contentToken: 1, contentLoss: 3.5, contentConfidence: 0.3, prediction: "yes", correct: false, answerTokens: 2 },
];

const values = (v: Float64Array) => [...v];

describe("NLI task", () => {
  const ctx: MetricContext = { rows: nliRows, verbalizer: nliVerbalizer };

  test("lists builtins, heuristics and columns with kinds; a column clashing with a builtin is prefixed", () => {
    const kinds = Object.fromEntries(listMetrics(ctx).map((m) => [m.name, m.kind]));
    assert.deepEqual(kinds, {
      label: "builtin", "label=entailment": "builtin", "label=non-entailment": "builtin",
      loss: "builtin", loss_first_content: "builtin", gold_prob: "builtin", confidence: "builtin", confidence_first_position: "builtin",
      correct: "builtin", answer_length: "builtin",
      lexical_overlap: "heuristic", subsequence: "heuristic", "column:loss": "column",
    });
    assert.equal(listMetrics(ctx).find((m) => m.name === "loss")!.needsOutputs, true);
  });

  test("string labels become class indices in verbalizer order; one-vs-rest indicators", () => {
    assert.deepEqual(values(computeMetric(ctx, "label")), [1, 0, 1, 0]);
    assert.deepEqual(values(computeMetric(ctx, "label=entailment")), [0, 1, 0, 1]);
    assert.deepEqual(values(computeMetric(ctx, "label=non-entailment")), [1, 0, 1, 0]);
  });

  test("heuristics, answer length (explicit answer wins) and columns", () => {
    assert.deepEqual(values(computeMetric(ctx, "lexical_overlap")), [1, 1, 0, 1]);
    assert.deepEqual(values(computeMetric(ctx, "subsequence")), [0, 1, 0, 0]); // h4: "judge ... slept" is not contiguous
    assert.deepEqual(values(computeMetric(ctx, "answer_length")), [2, 3, 2, 10]);
    assert.deepEqual(values(computeMetric(ctx, "column:loss")), [7, 8, Number.NaN, 9]);
  });

  test("output metrics need outputs; with them they follow the samples", () => {
    assert.throws(() => computeMetric(ctx, "loss"), (e: unknown) => e instanceof MetricError && e.metric === "loss");
    assert.deepEqual([...computeAvailableMetrics(ctx).keys()].includes("loss"), false);
    const withOut: MetricContext = { ...ctx, outputs };
    assert.deepEqual(values(computeMetric(withOut, "loss")), [0.5, 1.5, 0.1, 2.5]);
    assert.deepEqual(values(computeMetric(withOut, "gold_prob")), [0.6, 0.2, 0.9, 0.1]);
    assert.deepEqual(values(computeMetric(withOut, "confidence")), [0.4, 0.8, Number.NaN, 0.3], "at the first content token; none: missing");
    assert.deepEqual(values(computeMetric(withOut, "confidence_first_position")), [0.7, 0.8, 0.9, 0.6]);
    assert.deepEqual(values(computeMetric(withOut, "loss_first_content")), [0.9, 1.6, Number.NaN, 3.5]);
    assert.deepEqual(values(computeMetric(withOut, "correct")), [1, 0, 1, 0]);
    assert.deepEqual(values(computeMetric(withOut, "answer_tokens")), [1, 1, Number.NaN, 2]);
    assert.equal(computeAvailableMetrics(withOut).size, listMetrics(withOut).length);
  });

  test("outputs stored before content tokens existed offer only the first-position confidence", () => {
    const old: MetricContext = { ...ctx, outputs: outputs.map(({ contentToken: _t, contentLoss: _l, contentConfidence: _c, ...o }) => o) };
    const names = listMetrics(old).map((m) => m.name);
    assert.equal(names.includes("confidence"), false);
    assert.equal(names.includes("loss_first_content"), false);
    assert.deepEqual(values(computeMetric(old, "confidence_first_position")), [0.7, 0.8, 0.9, 0.6]);
    // before extraction a run will have them
    assert.ok(listMetrics(ctx).some((m) => m.name === "confidence") && listMetrics(ctx).some((m) => m.name === "loss_first_content"));
  });

  test("outputs must match the samples one to one", () => {
    assert.throws(() => listMetrics({ ...ctx, outputs: outputs.slice(1) }), MetricError);
  });

  test("heuristics can be turned off or pointed at other fields", () => {
    assert.equal(listMetrics({ ...ctx, heuristics: { nli: false } }).some((m) => m.kind === "heuristic"), false);
    const swapped = computeMetric({ ...ctx, heuristics: { nli: { premise: "hypothesis", hypothesis: "premise" } } }, "lexical_overlap");
    assert.deepEqual(values(swapped), [1, 0, 0, 0]);
    assert.throws(() => listMetrics({ ...ctx, heuristics: { nli: { premise: "p", hypothesis: "premise" } } }), (e: unknown) => e instanceof MetricError && e.message.includes('"p"'));
  });

  test("added metrics: listed as added, returned as given, names checked", () => {
    const ids = nliRows.map((r) => r.id);
    const added = new Map([["rating", metricFromPairs(ids, [{ id: "h2", value: 5 }])]]);
    const withAdded: MetricContext = { ...ctx, added };
    assert.equal(listMetrics(withAdded).at(-1)!.kind, "added");
    assert.deepEqual(values(computeMetric(withAdded, "rating")), [Number.NaN, 5, Number.NaN, Number.NaN]);
    assert.throws(() => assertNewMetricName(withAdded, "rating"), MetricError);
    assert.throws(() => assertNewMetricName(ctx, "subsequence"), MetricError);
    assert.throws(() => assertNewMetricName(ctx, " "), MetricError);
    assertNewMetricName(ctx, "rating");
    assert.throws(() => listMetrics({ ...ctx, added: new Map([["label", new Float64Array(4)]]) }), MetricError);
    assert.throws(() => listMetrics({ ...ctx, added: new Map([["x", new Float64Array(3)]]) }), MetricError);
    assert.throws(() => computeMetric(ctx, "nope"), (e: unknown) => e instanceof MetricError && e.message.includes("available"));
  });
});

describe("arithmetic and numeric-label tasks", () => {
  const rows = parseInlineRows([
    { id: 1, a: 23, b: 47, op: "*", answer: "1081", carry: true },
    { id: 2, a: 52, b: 17, op: "-", answer: "35", carry: false },
    { id: 3, a: 23, b: 47, op: "+", answer: "70", carry: true },
    { id: 4, a: 9, b: 9, op: "×", answer: "81" },
  ], { split: SPLIT });
  const preds: SampleOutput[] = ["1081", "36", "60", "= 81"].map((prediction) => ({ loss: 0, goldProb: 1, confidence: 1, prediction, correct: true }));

  test("digit features from a per-row op field", () => {
    const ctx: MetricContext = { rows, outputs: preds };
    const names = listMetrics(ctx).filter((m) => m.kind === "heuristic").map((m) => m.name);
    assert.deepEqual(names, ["a_last_digit", "b_last_digit", "result_last_digit", "shortcut_agrees", "pred_last_digit", "last_digit_shortcut"]);
    assert.deepEqual(values(computeMetric(ctx, "a_last_digit")), [3, 2, 3, 9]);
    assert.deepEqual(values(computeMetric(ctx, "result_last_digit")), [1, 5, 0, 1]);
    assert.deepEqual(values(computeMetric(ctx, "pred_last_digit")), [1, 6, 0, 1]);
    assert.deepEqual(values(computeMetric(ctx, "last_digit_shortcut")), [1, 0, 1, 1]);
    assert.deepEqual(values(computeMetric(ctx, "shortcut_agrees")), [1, 1, 1, 1]);
    assert.deepEqual(values(computeMetric(ctx, "carry")), [1, 0, 1, Number.NaN]);
    assert.equal(listMetrics(ctx).find((m) => m.name === "carry")!.kind, "column");
    assert.throws(() => computeMetric({ rows }, "last_digit_shortcut"), MetricError);
  });

  test("a configured operation; no labels means no label metrics", () => {
    const ctx: MetricContext = { rows, heuristics: { arithmetic: { a: "a", b: "b", op: "+" } } };
    assert.deepEqual(values(computeMetric(ctx, "result_last_digit")), [0, 9, 0, 8]);
    assert.equal(listMetrics(ctx).some((m) => m.name.startsWith("label")), false);
  });

  test("numeric labels stay as they are; classes sort numerically", () => {
    const labelled = parseInlineRows([{ x: "a", label: 10 }, { x: "b", label: 2 }, { x: "c", label: 2 }], { split: SPLIT });
    const ctx: MetricContext = { rows: labelled };
    assert.deepEqual(values(computeMetric(ctx, "label")), [10, 2, 2]);
    assert.deepEqual(listMetrics(ctx).filter((m) => m.name.startsWith("label=")).map((m) => m.name), ["label=2", "label=10"]);
    assert.deepEqual(values(computeMetric(ctx, "answer_length")), [Number.NaN, Number.NaN, Number.NaN]);
  });

  test("a regression-like label gets no one-vs-rest indicators", () => {
    const many = parseInlineRows(Array.from({ length: MAX_ONE_VS_REST + 1 }, (_, i) => ({ label: i / 10 })), { split: SPLIT });
    const names = listMetrics({ rows: many }).map((m) => m.name);
    assert.ok(names.includes("label"));
    assert.equal(names.some((n) => n.startsWith("label=")), false);
    const few = parseInlineRows(Array.from({ length: MAX_ONE_VS_REST }, (_, i) => ({ label: i })), { split: SPLIT });
    assert.equal(listMetrics({ rows: few }).filter((m) => m.name.startsWith("label=")).length, MAX_ONE_VS_REST);
  });
});

describe("label metrics that mean what they say", () => {
  const three = parseInlineRows(
    [{ x: "a", label: "neutral" }, { x: "b", label: "contradiction" }, { x: "c", label: "entailment" }, { x: "d", label: "neutral" }],
    { split: SPLIT },
  );

  test("3+ named classes: only one-vs-rest indicators, never a class index correlated as a number", () => {
    const names = listMetrics({ rows: three }).map((m) => m.name);
    assert.equal(names.includes("label"), false);
    assert.deepEqual(names.filter((n) => n.startsWith("label=")).sort(), ["label=contradiction", "label=entailment", "label=neutral"]);
    assert.deepEqual(values(computeMetric({ rows: three }, "label=neutral")), [1, 0, 0, 1]);
    // numeric codes under a verbalizer name classes too
    const coded = parseInlineRows([{ x: "a", label: 0 }, { x: "b", label: 1 }, { x: "c", label: 2 }], { split: SPLIT, verbalizer: parseVerbalizer({ 0: "yes", 1: "maybe", 2: "no" }) });
    assert.equal(listMetrics({ rows: coded, verbalizer: parseVerbalizer({ 0: "yes", 1: "maybe", 2: "no" }) }).some((m) => m.name === "label"), false);
  });

  test("two classes: label is the indicator of the second class, and says so", () => {
    const ctx: MetricContext = { rows: nliRows, verbalizer: nliVerbalizer };
    const info = listMetrics(ctx).find((m) => m.name === "label")!;
    assert.match(info.description, /1 where the label is "non-entailment", 0 where it is "entailment"/);
    assert.deepEqual(values(computeMetric(ctx, "label")), values(computeMetric(ctx, "label=non-entailment")));
  });

  test("loss, confidence and last_digit_shortcut say what they measure and where they mislead", () => {
    const described = (ctx: MetricContext, name: string) => listMetrics(ctx).find((m) => m.name === name)!.description;
    const ctx: MetricContext = { rows: nliRows, verbalizer: nliVerbalizer };
    assert.match(described(ctx, "loss"), /word-boundary token/);
    assert.match(described(ctx, "loss"), /loss_first_content/);
    assert.match(described(ctx, "loss_first_content"), /first answer token that carries content/);
    assert.match(described(ctx, "confidence"), /first answer token that carries content/);
    assert.match(described(ctx, "confidence_first_position"), /first answer position.*nearly constant/);
    const arith = parseInlineRows([{ a: 12, b: 35, answer: "47" }, { a: 3, b: 4, answer: "7" }], { split: SPLIT });
    assert.match(described({ rows: arith, heuristics: { arithmetic: { a: "a", b: "b", op: "+" } } }, "last_digit_shortcut"), /cannot tell a shortcut from arithmetic/);
  });
});
