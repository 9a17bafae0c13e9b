import { extremalSamples, histogram, ReservoirSet, type Histogram } from "../analysis/index.js";
import { decodeReservoirs } from "../runs/reservoir-codec.js";
import { requireFullActivations } from "../runs/run-options.js";
import type { SampleOutputs, SampleRow } from "../store/records.js";
import type { Store } from "../store/store.js";
import { ApiError } from "./errors.js";

/** One neuron's stored activations, each row tied to its validation sample. */
export interface NeuronRows {
  positions: number;
  /** [N, positions] */
  data: Float32Array;
  /** [N] validation-set row index of each activation row */
  sampleIdx: Int32Array;
  /** [N] sample id of each activation row */
  sampleIds: string[];
}

/** Activations of neuron (layer, index) of a run with their samples' ids. */
export async function loadNeuronRows(store: Store, runId: number, layer: number, index: number): Promise<NeuronRows> {
  const [acts, outputs] = await Promise.all([store.readNeuron(runId, layer, index), store.readSampleOutputs(runId)]);
  if (acts.sampleIdx.length === 0) {
    requireFullActivations(await store.getRun(runId), "reading a neuron's activations (correlations by position, histograms)");
    throw new ApiError("NOT_FOUND", `run ${runId} has no stored activations for layer ${layer}; query run.layers for the recorded ones`, {
      runId,
      layer,
    });
  }
  const idOf = new Map<number, string>();
  outputs.sampleIdx.forEach((idx, i) => idOf.set(idx, outputs.sampleId[i]!));
  const sampleIds = Array.from(acts.sampleIdx, (idx) => {
    const id = idOf.get(idx);
    if (id === undefined) {
      throw new ApiError("CONFLICT", `run ${runId} has activations for validation row ${idx} but no sample output for it; the extraction did not finish`, {
        runId,
      });
    }
    return id;
  });
  return { positions: acts.positions, data: acts.data, sampleIdx: acts.sampleIdx, sampleIds };
}

export interface ExtremalRow {
  rank: number;
  sampleIdx: number;
  sampleId: string;
  activation: number;
}

/** The k highest (or lowest) activations at `position`, or of the max over positions when null. */
export function extremalRows(rows: NeuronRows, direction: "high" | "low", k: number, position: number | null): ExtremalRow[] {
  if (position !== null && position >= rows.positions) {
    throw new ApiError("BAD_USER_INPUT", `position: ${position} is out of range; the run has ${rows.positions} positions (0..${rows.positions - 1})`, {
      field: "position",
    });
  }
  const found = extremalSamples(rows.data, rows.positions, 1, 0, position ?? "max", k);
  const list = direction === "high" ? found.highest : found.lowest;
  return list.map((e, i) => ({ rank: i + 1, sampleIdx: rows.sampleIdx[e.sample]!, sampleId: rows.sampleIds[e.sample]!, activation: e.value }));
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
  position: number | null,
): Promise<ExtremalRow[]> {
  if (k > reservoirK) {
    throw new ApiError("BAD_USER_INPUT", `k: run ${runId} kept only the ${reservoirK} highest and lowest activations per neuron (storage "topk", reservoirK ${reservoirK}); ask for k <= ${reservoirK}`, {
      field: "k",
      max: reservoirK,
    });
  }
  const [bytes, outputs] = await Promise.all([store.getReservoir(runId, neuron.layer), store.readSampleOutputs(runId)]);
  if (!bytes) {
    throw new ApiError("NOT_FOUND", `run ${runId} has no reservoirs for layer ${neuron.layer}; query run.layers for the recorded ones`, { runId, layer: neuron.layer });
  }
  const set = ReservoirSet.fromSnapshot(decodeReservoirs(bytes));
  const { positions, neurons } = set.shape;
  if (position !== null && position >= positions) {
    throw new ApiError("BAD_USER_INPUT", `position: ${position} is out of range; the run has ${positions} positions (0..${positions - 1})`, { field: "position" });
  }
  if (neuron.index >= neurons) throw new ApiError("BAD_USER_INPUT", `index: the run has ${neurons} neurons per layer (0..${neurons - 1})`, { field: "index" });
  const found = set.extremes(neuron.layer, position ?? "max", neuron.index);
  const idOf = new Map<number, string>();
  outputs.sampleIdx.forEach((idx, i) => idOf.set(idx, outputs.sampleId[i]!));
  return (direction === "high" ? found.highest : found.lowest).slice(0, k).map((e, i) => {
    const sampleId = idOf.get(e.sample);
    if (sampleId === undefined) {
      throw new ApiError("CONFLICT", `run ${runId} has reservoir entries for validation row ${e.sample} but no sample output for it; the extraction did not finish`, { runId });
    }
    return { rank: i + 1, sampleIdx: e.sample, sampleId, activation: e.value };
  });
}

/** Histogram of the neuron's activations at `position` (or max over positions), bins over [min, max]. */
export function activationHistogram(rows: NeuronRows, position: number | null, bins: number): Histogram {
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
  const [samples, outputs] = await Promise.all([store.listSamples(taskId), store.readSampleOutputs(runId)]);
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
