import type { ParsedTaskRow } from "../tasks/types.js";
import { answerText, type Verbalizer } from "../tasks/verbalizer.js";
import type { DigitFeatures } from "./arithmetic.js";
import { digitVectors, nliVector, resolveArithmetic, resolveNli, type HeuristicConfig } from "./heuristics.js";
import { labelClasses, labelMetric, oneVsRest } from "./labels.js";
import { MetricError, type MetricInfo, type MetricKind, type SampleOutput } from "./types.js";

/** Everything a run's metrics are computed from. All vectors follow `rows` (the run's validation samples, in run order). */
export interface MetricContext {
  readonly rows: readonly Pick<ParsedTaskRow, "id" | "fields" | "answer" | "label" | "columns">[];
  /** Runner outputs, one per row; absent before extraction. */
  readonly outputs?: readonly SampleOutput[];
  readonly verbalizer?: Verbalizer;
  readonly heuristics?: HeuristicConfig;
  /** Metrics added after the run (see metricFromPairs), by name. */
  readonly added?: ReadonlyMap<string, Float64Array>;
}

/** Most classes for which `label=<class>` indicators are listed. */
export const MAX_ONE_VS_REST = 50;

interface MetricDefinition extends MetricInfo {
  compute(): Float64Array;
}

/** The metrics available for a context, in a stable order: builtin, heuristic, column, added. */
export function listMetrics(ctx: MetricContext): MetricInfo[] {
  return definitions(ctx).map(({ name, kind, description, needsOutputs }) => ({ name, kind, description, needsOutputs }));
}

/**
 * One metric's per-sample vector (NaN = missing).
 * @throws MetricError for an unknown name, or an output metric before outputs exist.
 */
export function computeMetric(ctx: MetricContext, name: string): Float64Array {
  const def = definitions(ctx).find((d) => d.name === name);
  if (def === undefined) {
    throw new MetricError(name, `no metric "${name}" for this run (available: ${definitions(ctx).map((d) => d.name).join(", ")})`);
  }
  return def.compute();
}

/** Every metric computable now (output metrics only when outputs exist), by name. */
export function computeAvailableMetrics(ctx: MetricContext): Map<string, Float64Array> {
  return new Map(definitions(ctx).filter((d) => !d.needsOutputs || ctx.outputs !== undefined).map((d) => [d.name, d.compute()]));
}

/** @throws MetricError when `name` is empty or taken by another metric of the run. */
export function assertNewMetricName(ctx: MetricContext, name: string): void {
  if (name.trim().length === 0) throw new MetricError(name, "metric name is empty: give the metric a name");
  if (definitions(ctx).some((d) => d.name === name)) {
    throw new MetricError(name, `metric "${name}" already exists for this run: choose another name`);
  }
}

function definitions(ctx: MetricContext): MetricDefinition[] {
  const { rows } = ctx;
  const outputs = ctx.outputs;
  if (outputs !== undefined && outputs.length !== rows.length) {
    throw new MetricError(undefined, `the run has ${rows.length} samples but ${outputs.length} outputs: outputs must follow the samples one to one`);
  }
  const defs: MetricDefinition[] = [];
  const def = (name: string, kind: MetricKind, description: string, needsOutputs: boolean, compute: () => Float64Array) =>
    defs.push({ name, kind, description, needsOutputs, compute });
  const fromOutputs = (name: string, pick: (o: SampleOutput) => number) => () => {
    if (outputs === undefined) throw new MetricError(name, `metric "${name}" comes from the runner's outputs, which this run does not have yet`);
    return Float64Array.from(outputs, pick);
  };

  if (rows.some((r) => r.label !== undefined)) {
    const classes = labelClasses(rows, ctx.verbalizer);
    const numeric = rows.every((r) => r.label === undefined || typeof r.label === "number");
    // With 3+ named classes a class index is an arbitrary order correlated as a number: only label=<class> is offered then.
    const namesClasses = !numeric || ctx.verbalizer !== undefined;
    if (!namesClasses) def("label", "builtin", "the numeric label as given", false, () => labelMetric(rows, classes));
    else if (classes.length === 2) def("label", "builtin", `1 where the label is "${classes[1]}", 0 where it is "${classes[0]}"`, false, () => labelMetric(rows, classes));
    // Indicators only for class-like labels: a regression target would flood the list.
    if (classes.length <= MAX_ONE_VS_REST) for (const cls of classes) def(`label=${cls}`, "builtin", `1 where the label is "${cls}", else 0`, false, () => oneVsRest(rows, cls));
  }
  def(
    "loss", "builtin",
    "mean cross-entropy over all the gold answer's tokens, a leading word-boundary token (a lone space) included: on a short answer that token " +
      "can dominate it; loss_first_content reads the first token that carries content",
    true, fromOutputs("loss", (o) => o.loss),
  );
  // Runners before the content-token outputs left them undefined: such a run has neither content metric
  // (a run not extracted yet will have them).
  const hasContent = outputs === undefined || outputs.some((o) => o.contentConfidence !== undefined);
  if (hasContent) {
    def(
      "loss_first_content", "builtin",
      "cross-entropy of the gold token at the first answer token that carries content (its text is not only whitespace or a word-boundary " +
        "piece such as a lone space before a number); missing where no answer token does",
      true, fromOutputs("loss_first_content", (o) => o.contentLoss ?? Number.NaN),
    );
  }
  def("gold_prob", "builtin", "probability of the gold answer", true, fromOutputs("gold_prob", (o) => o.goldProb));
  if (hasContent) {
    def(
      "confidence", "builtin",
      "top token probability at the first answer token that carries content (not a lone word-boundary piece): how sure the model is of " +
        "its answer where the answer starts to differ; missing where no answer token carries content",
      true, fromOutputs("confidence", (o) => o.contentConfidence ?? Number.NaN),
    );
  }
  def(
    "confidence_first_position", "builtin",
    "top token probability at the first answer position, whatever token is there; when the answer starts with a word-boundary token " +
      "that position is nearly certain, so the value is nearly constant (runs stored before content-token outputs have only this one)",
    true, fromOutputs("confidence_first_position", (o) => o.confidence),
  );
  def("correct", "builtin", "1 when the prediction is correct, else 0", true, fromOutputs("correct", (o) => (o.correct ? 1 : 0)));
  def("answer_length", "builtin", "gold answer length in characters", false, () => Float64Array.from(rows, (r) => answerLength(r, ctx.verbalizer)));
  if (outputs?.some((o) => o.answerTokens !== undefined)) {
    def("answer_tokens", "builtin", "gold answer length in tokens", true, fromOutputs("answer_tokens", (o) => o.answerTokens ?? Number.NaN));
  }

  const nli = resolveNli(rows, ctx.heuristics);
  if (nli !== undefined) {
    def("lexical_overlap", "heuristic", `1 when every word of "${nli.hypothesis}" occurs in "${nli.premise}"`, false, () => nliVector(rows, nli, "lexical_overlap"));
    def("subsequence", "heuristic", `1 when "${nli.hypothesis}" is a contiguous word subsequence of "${nli.premise}"`, false, () => nliVector(rows, nli, "subsequence"));
  }
  const arith = resolveArithmetic(rows, ctx.heuristics);
  if (arith !== undefined) {
    const digits = (key: keyof DigitFeatures) => () => Float64Array.from(digitVectors(rows, arith, outputs), (f) => f[key]);
    const needing = (name: string, key: keyof DigitFeatures) => () => {
      if (outputs === undefined) throw new MetricError(name, `metric "${name}" needs the model's predictions, which this run does not have yet`);
      return digits(key)();
    };
    def(`${arith.a}_last_digit`, "heuristic", `last digit of "${arith.a}"`, false, digits("aLastDigit"));
    def(`${arith.b}_last_digit`, "heuristic", `last digit of "${arith.b}"`, false, digits("bLastDigit"));
    def("result_last_digit", "heuristic", "last digit of the true result", false, digits("resultLastDigit"));
    def("shortcut_agrees", "heuristic", "1 when the true result's last digit equals the last-digit shortcut", false, digits("shortcutAgrees"));
    def("pred_last_digit", "heuristic", "last digit of the predicted number", true, needing("pred_last_digit", "predLastDigit"));
    def(
      "last_digit_shortcut", "heuristic",
      "1 when the predicted last digit equals the operands' last digits combined mod 10. For + and x correct arithmetic gives that digit too, " +
        "so on correct predictions it cannot tell a shortcut from arithmetic: read it on wrong predictions, or against shortcut_agrees",
      true, needing("last_digit_shortcut", "lastDigitShortcut"),
    );
  }

  const taken = new Set(defs.map((d) => d.name));
  const columnNames = [...new Set(rows.flatMap((r) => Object.keys(r.columns)))];
  for (const column of columnNames) {
    const name = taken.has(column) ? `column:${column}` : column;
    def(name, "column", `task column "${column}"`, false, () => Float64Array.from(rows, (r) => r.columns[column] ?? Number.NaN));
    taken.add(name);
  }

  for (const [name, values] of ctx.added ?? []) {
    if (taken.has(name)) throw new MetricError(name, `added metric "${name}" clashes with another metric of the run: rename it`);
    if (values.length !== rows.length) {
      throw new MetricError(name, `added metric "${name}" has ${values.length} values for ${rows.length} samples: rebuild it with metricFromPairs`);
    }
    def(name, "added", `added after the run`, false, () => values);
    taken.add(name);
  }
  return defs;
}

/** Characters (code points) of the gold answer; NaN when the row has no answer text. */
function answerLength(row: Pick<ParsedTaskRow, "answer" | "label">, verbalizer?: Verbalizer): number {
  const mapped = row.label !== undefined && verbalizer !== undefined && Object.hasOwn(verbalizer, String(row.label));
  return row.answer !== undefined || mapped ? [...answerText(row, verbalizer)].length : Number.NaN;
}
