import { neuronId } from "../../gpu-runner/neuron-id.js";
import { extremalSamples, histogram, ReservoirSet, type Histogram } from "../analysis/index.js";
import { decodeReservoirs } from "../runs/reservoir-codec.js";
import { requireFullActivations } from "../runs/run-options.js";
import type { SampleOutputs, SampleRow } from "../store/records.js";
import { ANALYSIS_SPLIT } from "../store/records.js";
import type { Store } from "../store/store.js";
import { ApiError } from "./errors.js";

/** One neuron's stored activations, each row tied to its validation sample. */
export interface NeuronRows {
  positions: number;
  /** [N, positions] */
  data: Float32Array;
  /** [N] sample ordinal of each activation row */
  sampleIdx: Int32Array;
  /** [N] sample id of each activation row */
  sampleIds: string[];
}

/** Activations of neuron (layer, index) of a run with their samples' ids. */
export async function loadNeuronRows(store: Store, runId: number, layer: number, index: number): Promise<NeuronRows> {
  const acts = await store.readNeuron(runId, layer, index);
  if (acts.sampleIdx.length === 0) {
    requireFullActivations(await store.getRun(runId), "reading a neuron's activations (correlations by position, histograms)");
    throw new ApiError("NOT_FOUND", `run ${runId} has no stored activations for layer ${layer}; query run.layers for the recorded ones`, {
      runId,
      layer,
    });
  }
  const ids = await sampleIdsByOrdinal(store, runId);
  const sampleIds = Array.from(acts.sampleIdx, (idx) => {
    const id = ids[idx];
    if (id === undefined) {
      throw new ApiError("CONFLICT", `run ${runId} has activations for sample ordinal ${idx}, beyond its ${ids.length} analysed samples`, { runId });
    }
    return id;
  });
  return { positions: acts.positions, data: acts.data, sampleIdx: acts.sampleIdx, sampleIds };
}

/** The ids of the run's analysed samples, index = ordinal (the key of activations and outputs). */
async function sampleIdsByOrdinal(store: Store, runId: number): Promise<string[]> {
  const run = await store.getRun(runId);
  return (await store.listSamples(run.taskId, ANALYSIS_SPLIT)).map((s) => s.sampleId);
}

/** Which activation a neuron's samples and histograms read. */
export type ActivationReading =
  /** the position where |r| with `metric` peaks: the one that ranked the neuron */
  | { kind: "best_position"; metric: string; position: number }
  /** a position the caller named */
  | { kind: "position"; position: number }
  /** each sample's maximum over positions */
  | { kind: "max_over_positions" };

export interface ReadingRequest {
  metric?: string | null;
  position?: number | null;
  maxOverPositions?: boolean | null;
}

/**
 * Resolves what to read: a named position, the max over positions when asked for explicitly, or
 * by default the neuron's best position for `metric` (from its stored max |r| score).
 * @throws ApiError BAD_USER_INPUT when the request is contradictory or names nothing to read.
 */
export async function resolveReading(store: Store, runId: number, neuron: { layer: number; index: number }, req: ReadingRequest): Promise<ActivationReading> {
  if (req.position != null) {
    if (req.maxOverPositions) throw new ApiError("BAD_USER_INPUT", "position and maxOverPositions exclude each other; give one", { field: "position" });
    return { kind: "position", position: req.position };
  }
  if (req.maxOverPositions) return { kind: "max_over_positions" };
  if (req.metric == null) {
    throw new ApiError(
      "BAD_USER_INPUT",
      "name a metric (the neuron's best position for it is read, the one that ranked it), a position, or maxOverPositions: true",
      { field: "metric" },
    );
  }
  const page = await store.queryScores(runId, { metric: req.metric, agg: "max_abs_r", layer: neuron.layer, neuron: neuron.index, first: 1 });
  const best = page.rows[0];
  if (!best || best.position === null) {
    throw new ApiError(
      "BAD_USER_INPUT",
      `${neuronId(neuron.layer, neuron.index)} has no defined r with "${req.metric}" at any position (constant activation or metric, or the metric is unscored): give a position or maxOverPositions: true`,
      { field: "metric" },
    );
  }
  return { kind: "best_position", metric: req.metric, position: best.position };
}

/** Why a correlation has no value. */
export type UndefinedReason = "too_few_samples" | "constant_metric" | "constant_activation";

/**
 * Why a stored r is undefined, given the metric's values over the run's samples (NaN: no value):
 * fewer than 3 values, or a metric with one value; otherwise the activation was the constant one
 * (the only other way a Pearson r has no value).
 */
export function undefinedReason(metric: Float64Array): UndefinedReason {
  const defined = metric.filter(Number.isFinite);
  if (defined.length < 3) return "too_few_samples";
  return defined.every((v) => v === defined[0]) ? "constant_metric" : "constant_activation";
}
export interface ExtremalRow {
  rank: number;
  sampleIdx: number;
  sampleId: string;
  activation: number;
  /** The position the activation was read at (for max over positions: where this sample peaked; null where unknown). */
  position: number | null;
}

/** The position a reading reads, or null for the max over positions. */
export const readPosition = (reading: ActivationReading): number | null => (reading.kind === "max_over_positions" ? null : reading.position);

function checkPosition(position: number | null, positions: number): void {
  if (position !== null && position >= positions) {
    throw new ApiError("BAD_USER_INPUT", `position: ${position} is out of range; the run has ${positions} positions (0..${positions - 1})`, { field: "position" });
  }
}

/** Position of sample row s's largest activation (ties: the lowest position). */
function peakPosition(rows: NeuronRows, s: number): number {
  let best = 0;
  for (let p = 1; p < rows.positions; p++) if (rows.data[s * rows.positions + p]! > rows.data[s * rows.positions + best]!) best = p;
  return best;
}

/** The k highest (or lowest) activations as `reading` reads them. */
export function extremalRows(rows: NeuronRows, direction: "high" | "low", k: number, reading: ActivationReading): ExtremalRow[] {
  const position = readPosition(reading);
  checkPosition(position, rows.positions);
  const found = extremalSamples(rows.data, rows.positions, 1, 0, position ?? "max", k);
  const list = direction === "high" ? found.highest : found.lowest;
  return list.map((e, i) => ({
    rank: i + 1,
    sampleIdx: rows.sampleIdx[e.sample]!,
    sampleId: rows.sampleIds[e.sample]!,
    activation: e.value,
    position: position ?? peakPosition(rows, e.sample),
  }));
}

/**
 * extremalRows for a run with storage "topk": read from the layer's stored reservoirs, which hold
 * each neuron's `reservoirK` highest and lowest activations, so k may not exceed reservoirK.
 */
export async function reservoirExtremalRows(
  store: Store,
  runId: number,
  reservoirK: number,
  neuron: { layer: number; index: number },
  direction: "high" | "low",
  k: number,
  reading: ActivationReading,
): Promise<ExtremalRow[]> {
  const position = readPosition(reading);
  if (k > reservoirK) {
    throw new ApiError("BAD_USER_INPUT", `k: run ${runId} kept only the ${reservoirK} highest and lowest activations per neuron (storage "topk", reservoirK ${reservoirK}); ask for k <= ${reservoirK}`, {
      field: "k",
      max: reservoirK,
    });
  }
  const [bytes, ids] = await Promise.all([store.getReservoir(runId, neuron.layer), sampleIdsByOrdinal(store, runId)]);
  if (!bytes) {
    throw new ApiError("NOT_FOUND", `run ${runId} has no reservoirs for layer ${neuron.layer}; query run.layers for the recorded ones`, { runId, layer: neuron.layer });
  }
  const set = ReservoirSet.fromSnapshot(decodeReservoirs(bytes));
  const { positions, neurons } = set.shape;
  checkPosition(position, positions);
  if (neuron.index >= neurons) throw new ApiError("BAD_USER_INPUT", `index: the run has ${neurons} neurons per layer (0..${neurons - 1})`, { field: "index" });
  const found = set.extremes(neuron.layer, position ?? "max", neuron.index);
  return (direction === "high" ? found.highest : found.lowest).slice(0, k).map((e, i) => {
    const sampleId = ids[e.sample];
    if (sampleId === undefined) {
      throw new ApiError("CONFLICT", `run ${runId} has reservoir entries for sample ordinal ${e.sample}, beyond its ${ids.length} analysed samples`, { runId });
    }
    // the reservoirs keep the value of the max over positions, not where it was
    return { rank: i + 1, sampleIdx: e.sample, sampleId, activation: e.value, position };
  });
}

/** Histogram of the neuron's activations as `reading` reads them, bins over [min, max]. */
export function activationHistogram(rows: NeuronRows, reading: ActivationReading, bins: number): Histogram {
  const position = readPosition(reading);
  checkPosition(position, rows.positions);
  const n = rows.sampleIdx.length;
  const values = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    if (position !== null) values[s] = rows.data[s * rows.positions + position]!;
    else {
      let m = -Infinity;
      for (let p = 0; p < rows.positions; p++) m = Math.max(m, rows.data[s * rows.positions + p]!);
      values[s] = m;
    }
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  // A constant neuron still gets a non-empty range.
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, lo + 0.5];
  return histogram(values, bins, lo, hi);
}

/** Sample rows and model outputs of a run, by sample id. */
export interface SampleDetails {
  row?: SampleRow;
  output?: { loss: number; goldProb: number; confidence: number; prediction: string; correct: boolean };
}

export async function sampleDetails(store: Store, runId: number, taskId: number, sampleIds: readonly string[]): Promise<Map<string, SampleDetails>> {
  const [samples, outputs] = await Promise.all([store.listSamples(taskId, ANALYSIS_SPLIT), store.readSampleOutputs(runId)]);
  const wanted = new Set(sampleIds);
  const out = new Map<string, SampleDetails>();
  for (const row of samples) if (wanted.has(row.sampleId)) out.set(row.sampleId, { row });
  addOutputs(out, outputs, wanted);
  return out;
}

function addOutputs(out: Map<string, SampleDetails>, o: SampleOutputs, wanted: ReadonlySet<string>): void {
  o.sampleId.forEach((id, i) => {
    if (!wanted.has(id)) return;
    const entry = out.get(id) ?? {};
    entry.output = { loss: o.loss[i]!, goldProb: o.goldProb[i]!, confidence: o.confidence[i]!, prediction: o.prediction[i]!, correct: o.correct[i] === 1 };
    out.set(id, entry);
  });
}
