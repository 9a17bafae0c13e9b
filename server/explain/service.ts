/**
 * Explaining a run's neurons offline: activations at each neuron's best position on the ranking
 * split (stored) and on held-out samples (the task's other splits, probed in a worker), the
 * features of both, the search (explain.ts), and the stored result that neuron search reads.
 */
import type { NeuronRef } from "../../gpu-runner/causal/types.js";
import { ServiceError } from "../errors.js";
import { topNeurons } from "../causal/index.js";
import { computeAvailableMetrics, listMetrics, type MetricContext, type SampleOutput } from "../metrics/index.js";
import { withAllColumns } from "../runs/run-manager.js";
import { toMetricRow } from "../runs/samples.js";
import type { SampleRow } from "../store/records.js";
import type { Store } from "../store/store.js";
import { parseVerbalizer } from "../tasks/index.js";
import { explainActivations, type Explanation } from "./explain.js";
import { checkLlmConfig, explainWithLlm, type LlmConfig, type LlmExplanation } from "./llm.js";
import { describeFeature, featureId, FeatureRows, type FeatureSpec } from "./features.js";
import { atPosition, defaultMetric, loadStoredNeurons } from "./neuron-data.js";
import { probeRun } from "./probe.js";

export interface ExplainNeuronsOptions {
  /** Default: the metric's top-k. */
  readonly neurons?: readonly NeuronRef[];
  readonly metric?: string;
  /** Default 10, 1..100. */
  readonly k?: number;
  /** Explanations kept per neuron (default 5, 1..20). */
  readonly top?: number;
  /** Held-out samples probed at most (default 500). */
  readonly heldOutLimit?: number;
  readonly signal?: AbortSignal;
  /** The server's model roots (see ProbeOptions). */
  readonly modelRoots?: readonly string[];
  /** Also ask this LLM for an explanation, scored by simulation (nothing is sent without it). */
  readonly llm?: LlmConfig;
}

export interface NeuronExplanations {
  readonly layer: number;
  readonly neuron: number;
  readonly metric: string;
  readonly bestPosition: number;
  /** r with the metric at the best position, on the ranking split. */
  readonly r: number;
  readonly selectionSamples: number;
  readonly explanations: readonly Explanation[];
  /** With options.llm. */
  readonly llm?: LlmExplanation;
}

/** Everything explanation needs from a split: its features and the samples' texts. */
export interface SplitData {
  readonly rows: FeatureRows;
  readonly samples: readonly SampleRow[];
}

/** Explains each neuron, stores the result (replacing earlier offline explanations) and returns it. */
export async function explainNeurons(store: Store, runId: number, options: ExplainNeuronsOptions = {}): Promise<NeuronExplanations[]> {
  if (options.llm) checkLlmConfig(options.llm);
  const top = options.top ?? 5;
  if (!(Number.isInteger(top) && top >= 1 && top <= 20)) throw new ServiceError("BAD_INPUT", `top must be an integer in 1..20, got ${top}`);
  const metric = options.metric ?? (await defaultMetric(store, runId));
  const k = options.k ?? 10;
  if (!options.neurons && !(Number.isInteger(k) && k >= 1 && k <= 100)) throw new ServiceError("BAD_INPUT", `k must be an integer in 1..100, got ${k}`);
  const refs = options.neurons ?? (await topNeurons(store, runId, metric, k)).map((n) => ({ layer: n.layer, neuron: n.neuron }));
  const split = await splitsOf(store, runId, options.heldOutLimit ?? 500);
  const held = await probeRun(store, runId, { sampleIds: split.heldOut.map((s) => s.sampleId) }, { neurons: refs, metric, signal: options.signal, modelRoots: options.modelRoots });
  const context = await metricContext(store, runId);
  const outputs = await store.readSampleOutputs(runId);
  const valById = new Map(split.val.map((s) => [s.sampleId, s]));
  const storedOutputs = new Map(outputs.sampleId.map((id, i): [string, SampleOutput] => [id, {
    loss: outputs.loss[i]!, goldProb: outputs.goldProb[i]!, confidence: outputs.confidence[i]!, prediction: outputs.prediction[i]!, correct: outputs.correct[i] === 1,
    ...(outputs.contentToken && { contentToken: outputs.contentToken[i]!, contentLoss: outputs.contentLoss![i]!, contentConfidence: outputs.contentConfidence![i]! }),
  }]));
  const heldOutputs: SampleOutput[] = held.samples.map((s) => ({
    loss: s.loss ?? NaN, goldProb: s.goldProb ?? NaN, confidence: s.confidenceFirstPosition, prediction: s.prediction, correct: s.correct === true,
    contentLoss: s.lossFirstContent ?? NaN, contentConfidence: s.confidence ?? NaN,
  }));
  const heldOut = splitData(context, split.heldOut, heldOutputs);
  const kinds = new Map(listMetrics(context.withRows(split.val)).map((m) => [m.name, m.kind]));

  const results: NeuronExplanations[] = [];
  const storedNeurons = await loadStoredNeurons(store, runId, refs, metric);
  for (const [k2, ref] of refs.entries()) {
    const stored = storedNeurons[k2]!;
    const valSamples = stored.sampleIds.map((id) => {
      const s = valById.get(id);
      if (!s) throw new ServiceError("BAD_STATE", `run ${runId}: stored sample ${id} is not a validation sample of its task`);
      return s;
    });
    const selection = splitData(context, valSamples, stored.sampleIds.map((id) => storedOutputs.get(id)!));
    const activation = Float64Array.from(held.samples, (s) => s.readings[k2]!.atBest);
    const selectionActivation = atPosition(stored, stored.bestPosition);
    const explanations = explainActivations(
      { rows: selection.rows, activation: selectionActivation },
      { rows: heldOut.rows, activation },
      kinds,
      { top },
    );
    await store.replaceExplanations(
      { runId, layer: ref.layer, neuron: ref.neuron, metric, source: "features" },
      explanations.map((e) => ({
        position: stored.bestPosition, featureId: e.featureId, kind: e.kind, description: e.description, words: [...new Set([e.spec, ...e.equivalents].flatMap(wordsOf))],
        selectionR: e.selectionR, heldOutR: e.heldOutR, heldOutAuc: e.heldOutAuc, effectSize: e.effectSize, heldOutSamples: e.heldOutSamples,
        detail: { spec: e.spec, misses: e.misses, missCount: e.missCount, equivalents: e.equivalents.map((q) => ({ featureId: featureId(q), description: describeFeature(q) })) },
      })),
    );
    let llm: LlmExplanation | undefined;
    if (options.llm) {
      llm = await explainWithLlm(
        options.llm,
        valSamples.map((s, i) => ({ id: s.sampleId, text: s.rendered, activation: selectionActivation[i]! })),
        split.heldOut.map((s, i) => ({ id: s.sampleId, text: s.rendered, activation: activation[i]! })),
        options.signal,
      );
      await store.replaceExplanations({ runId, layer: ref.layer, neuron: ref.neuron, metric, source: "llm" }, [{
        position: stored.bestPosition, featureId: `llm:${llm.model}`, kind: "llm", description: llm.explanation, words: [],
        selectionR: null, heldOutR: llm.simulationR, heldOutAuc: llm.simulationAuc, effectSize: null, heldOutSamples: llm.simulated.length,
        detail: { model: llm.model, simulated: llm.simulated },
      }]);
    }
    results.push({ layer: ref.layer, neuron: ref.neuron, metric, bestPosition: stored.bestPosition, r: stored.r, selectionSamples: stored.sampleIds.length, explanations, llm });
  }
  return results;
}

/** The words a feature reads, for search by word. */
export function wordsOf(spec: FeatureSpec): string[] {
  switch (spec.kind) {
    case "word": return [spec.word];
    case "bigram": return spec.gram.split(" ");
    case "word-set": return [...spec.words];
    default: return [];
  }
}

/** The run's validation samples (ranking split) and up to `limit` samples of its other splits (held out). */
export async function splitsOf(store: Store, runId: number, limit: number): Promise<{ val: SampleRow[]; heldOut: SampleRow[] }> {
  if (!(Number.isInteger(limit) && limit >= 10 && limit <= 10000)) throw new ServiceError("BAD_INPUT", `heldOutLimit must be an integer in 10..10000, got ${limit}`);
  const run = await store.getRun(runId);
  const samples = await store.listSamples(run.taskId);
  const val = samples.filter((s) => s.split === "val");
  const heldOut = samples.filter((s) => s.split !== "val").slice(0, limit);
  if (heldOut.length < 10) throw new ServiceError("BAD_STATE", `run ${runId}: its task has ${heldOut.length} samples outside the validation split; explanations need at least 10 held-out samples`);
  return { val, heldOut };
}

/** The run's metric context (as the run manager builds it) over any samples. */
interface RunMetricContext {
  withRows(samples: readonly SampleRow[], outputs?: readonly SampleOutput[]): MetricContext;
}

async function metricContext(store: Store, runId: number): Promise<RunMetricContext> {
  const run = await store.getRun(runId);
  const task = await store.getTask(run.taskId);
  const verbalizer = task.verbalizer ? parseVerbalizer(task.verbalizer) : undefined;
  return { withRows: (samples, outputs) => ({ rows: withAllColumns(samples.map(toMetricRow)), outputs, verbalizer }) };
}

/** Feature rows of samples: their text fields and every metric computable for them (the run's own metrics, recomputed). */
function splitData(context: RunMetricContext, samples: readonly SampleRow[], outputs: readonly SampleOutput[]): SplitData {
  const metrics = computeAvailableMetrics(context.withRows(samples, outputs));
  const rows = new FeatureRows(samples.map((s, i) => ({
    id: s.sampleId,
    fields: Object.fromEntries(Object.entries(s.fields).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : []))),
    metrics: new Map([...metrics].map(([name, values]) => [name, values[i]!])),
  })));
  return { rows, samples };
}
