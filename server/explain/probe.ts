/**
 * Probe a finished run: forward inputs the user gives (text, task-format rows, or stored sample
 * ids) with the run's trained prompt, in a worker, and read chosen neurons at every soft position
 * and at each neuron's best position, with the model's prediction and gold-answer probability and
 * where each reading falls in the neuron's stored validation distribution.
 */
import type { NeuronRef } from "../../gpu-runner/causal/types.js";
import type { ProbeOutcome } from "../../gpu-runner/probe/types.js";
import { startRunInWorker } from "../../gpu-runner/runner/host.js";
import type { ProbeMessage, TaskRow as RunnerRow } from "../../gpu-runner/runner/protocol.js";
import { ServiceError } from "../errors.js";
import { loadRunContext, topNeurons } from "../causal/index.js";
import { toRunnerRow } from "../runs/samples.js";
import type { Store } from "../store/store.js";
import { answerText, parseVerbalizer, renderTemplate, templateFields, type Verbalizer } from "../tasks/index.js";
import { atPosition, defaultMetric, loadStoredNeurons, percentileOf, type StoredNeuron } from "./neuron-data.js";

/** What to probe: exactly one of texts, rows or sampleIds. */
export interface ProbeInputs {
  /** Free texts: filled into the template's single field, or forwarded as is when `raw`. */
  readonly texts?: readonly string[];
  /** Task-format rows ({ field: value, ..., answer?, label? }), rendered with the task's template. */
  readonly rows?: readonly Record<string, unknown>[];
  /** Samples of the run's task (any split), as stored. */
  readonly sampleIds?: readonly string[];
  /** Texts only: skip the template. */
  readonly raw?: boolean;
  /** Texts only: the gold answer for every text. */
  readonly answer?: string;
}

export interface ProbeOptions {
  /** Neurons to read; default the metric's top-k (max |r| over positions). */
  readonly neurons?: readonly NeuronRef[];
  /** Ranks the default neurons and picks each neuron's best position; default `label` or the run's first metric. */
  readonly metric?: string;
  /** Default 10, 1..100. */
  readonly k?: number;
  readonly signal?: AbortSignal;
  /** The server's model roots: the job refuses a model folder outside them. */
  readonly modelRoots?: readonly string[];
}

export interface ProbeReading {
  readonly activations: Float32Array;
  readonly atBest: number;
  /** Mid-rank percentile (0..100) of atBest among the stored validation activations at the best position. */
  readonly percentile: number;
}

export interface ProbeSampleResult {
  readonly id: string;
  readonly instruction: string;
  /** The gold answer, null when the input gave none (then goldProb, loss and correct are null too). */
  readonly answer: string | null;
  readonly prediction: string;
  readonly goldProb: number | null;
  readonly loss: number | null;
  readonly correct: boolean | null;
  /** Cross-entropy of the gold token at the first answer token that carries content; null without a gold answer or such a token. */
  readonly lossFirstContent: number | null;
  /** Top token probability at the first answer token that carries content (the `confidence` metric); null when none does. */
  readonly confidence: number | null;
  /** Top token probability at the first answer position. */
  readonly confidenceFirstPosition: number;
  /** One per neuron, in `neurons` order. */
  readonly readings: readonly ProbeReading[];
}

export interface ProbeResult {
  readonly runId: number;
  readonly metric: string;
  readonly neurons: readonly { layer: number; neuron: number; bestPosition: number; r: number }[];
  readonly samples: readonly ProbeSampleResult[];
  readonly seconds: number;
}

export const MAX_PROBE_INPUTS = 10000;
const MAX_PROBE_NEURONS = 100;
let probeCounter = 0;

export async function probeRun(store: Store, runId: number, inputs: ProbeInputs, options: ProbeOptions = {}): Promise<ProbeResult> {
  const t0 = performance.now();
  const ctx = await loadRunContext(store, runId, options.modelRoots);
  const task = await store.getTask(ctx.run.taskId);
  const metric = options.metric ?? (await defaultMetric(store, runId));
  const refs = options.neurons ?? (await topNeurons(store, runId, metric, checkK(options.k ?? 10))).map((n) => ({ layer: n.layer, neuron: n.neuron }));
  if (refs.length === 0 || refs.length > MAX_PROBE_NEURONS) throw new ServiceError("BAD_INPUT", `neurons: give 1..${MAX_PROBE_NEURONS} neurons, got ${refs.length}`);
  const probed = await renderInputs(store, ctx.run.taskId, task.template, task.verbalizer, inputs, ctx.rows);
  // the worker loads the model while the stored activations are read
  const [outcome, stored] = await Promise.all([
    runProbeInWorker({
      type: "probe", runId: `run${runId}-probe-${++probeCounter}`, model: ctx.model, layout: ctx.layout, prompt: ctx.prompt,
      rows: probed.map((p) => p.row), probe: { neurons: refs },
    }, options.signal),
    loadStoredNeurons(store, runId, refs, metric),
  ]);
  const sortedAtBest = stored.map((n) => atPosition(n, n.bestPosition).sort());
  const K = refs.length;
  const P = outcome.nPositions;
  const samples = probed.map((p, i): ProbeSampleResult => {
    const gold = p.answer !== null;
    return {
      id: p.row.id, instruction: p.row.instruction, answer: p.answer, prediction: outcome.prediction[i]!,
      goldProb: gold ? outcome.goldProb[i]! : null, loss: gold ? outcome.loss[i]! : null, correct: gold ? outcome.correct[i] === 1 : null,
      lossFirstContent: gold ? valueOrNull(outcome.contentLoss[i]!) : null,
      confidence: valueOrNull(outcome.contentConfidence[i]!), confidenceFirstPosition: outcome.confidence[i]!,
      readings: stored.map((n, k) => {
        const activations = outcome.activations.slice((i * K + k) * P, (i * K + k + 1) * P);
        const atBest = activations[n.bestPosition]!;
        return { activations, atBest, percentile: percentileOf(sortedAtBest[k]!, atBest) };
      }),
    };
  });
  return {
    runId, metric, samples, seconds: (performance.now() - t0) / 1000,
    neurons: stored.map((n: StoredNeuron) => ({ layer: n.layer, neuron: n.neuron, bestPosition: n.bestPosition, r: n.r })),
  };
}

function checkK(k: number): number {
  if (!(Number.isInteger(k) && k >= 1 && k <= MAX_PROBE_NEURONS)) throw new ServiceError("BAD_INPUT", `k must be an integer in 1..${MAX_PROBE_NEURONS}, got ${k}`);
  return k;
}

interface ProbedRow {
  readonly row: RunnerRow;
  /** null: no gold answer given (the row carries a placeholder of the task's usual answer). */
  readonly answer: string | null;
}

async function renderInputs(
  store: Store, taskId: number, template: string, verbalizerJson: unknown, inputs: ProbeInputs, valRows: readonly RunnerRow[],
): Promise<ProbedRow[]> {
  const given = [inputs.texts, inputs.rows, inputs.sampleIds].filter((x) => x !== undefined);
  if (given.length !== 1) throw new ServiceError("BAD_INPUT", "give exactly one of texts, rows or sampleIds");
  const count = given[0]!.length;
  if (count === 0 || count > MAX_PROBE_INPUTS) throw new ServiceError("BAD_INPUT", `give 1..${MAX_PROBE_INPUTS} inputs, got ${count}`);
  if ((inputs.raw || inputs.answer !== undefined) && inputs.texts === undefined) throw new ServiceError("BAD_INPUT", "raw and answer apply to texts only");
  const placeholder = mostCommon(valRows.map((r) => r.answer));
  const withAnswer = (id: string, instruction: string, answer: string | null): ProbedRow => ({ row: { id, instruction, answer: answer ?? placeholder }, answer });

  if (inputs.sampleIds) {
    const byId = new Map((await store.listSamples(taskId)).map((s) => [s.sampleId, s]));
    return inputs.sampleIds.map((id) => {
      const s = byId.get(id);
      if (!s) throw new ServiceError("NOT_FOUND", `sampleIds: the run's task has no sample "${id}"`);
      const row = toRunnerRow(s);
      return withAnswer(row.id, row.instruction, s.answer);
    });
  }
  const verbalizer: Verbalizer | undefined = verbalizerJson == null ? undefined : parseVerbalizer(verbalizerJson);
  if (inputs.rows) {
    return inputs.rows.map((cells, i) => {
      if (typeof cells !== "object" || cells === null || Array.isArray(cells)) throw new ServiceError("BAD_INPUT", `rows[${i}] must be an object of field values`);
      const { id, answer, label, split: _split, ...rest } = cells;
      const fields = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)]));
      const rowId = id === undefined ? `row${i + 1}` : String(id);
      const gold = answer === undefined && label === undefined ? null
        : answerText({ id: rowId, answer: answer === undefined ? undefined : String(answer), label: label === undefined ? undefined : String(label) }, verbalizer);
      return withAnswer(rowId, renderTemplate(template, { id: rowId, fields }), gold);
    });
  }
  const texts = inputs.texts!;
  const fields = templateFields(template);
  if (!inputs.raw && fields.length !== 1) {
    throw new ServiceError("BAD_INPUT", `the task's template uses ${fields.length} fields (${fields.join(", ")}): give rows with those fields, or texts with raw: true`);
  }
  return texts.map((text, i) => {
    if (typeof text !== "string" || text.length === 0) throw new ServiceError("BAD_INPUT", `texts[${i}] must be a non-empty string`);
    const instruction = inputs.raw ? text : renderTemplate(template, { fields: { [fields[0]!]: text } });
    return withAnswer(`input${i + 1}`, instruction, inputs.answer ?? null);
  });
}

function mostCommon(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
}

/** Runs the probe job in a worker thread (runner/host.ts); aborting the signal cancels it. */
async function runProbeInWorker(msg: ProbeMessage, signal?: AbortSignal): Promise<ProbeOutcome> {
  if (signal?.aborted) throw new ServiceError("RUNNER", "probe job: CANCELLED: cancelled before it started");
  const handle = startRunInWorker(msg, () => undefined);
  const onAbort = () => handle.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const end = await handle.done;
    if (end.type === "error") throw new ServiceError(end.code === "BAD_INPUT" ? "BAD_INPUT" : "RUNNER", `probe job: ${end.code}: ${end.message}`);
    if (!end.summary.probe) throw new ServiceError("RUNNER", "probe job finished without an outcome");
    return end.summary.probe;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** NaN (no content token) as null. */
function valueOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
