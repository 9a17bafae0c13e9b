/**
 * A neuron as the ranking saw it: its stored validation activations at every soft position, the
 * metric aligned to the same samples, and the best position (max |r| with the metric, the position
 * that ranked it).
 */
import { pearsonPair } from "../analysis/index.js";
import { ServiceError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { NeuronRef } from "../../gpu-runner/causal/types.js";

export interface StoredNeuron {
  readonly layer: number;
  readonly neuron: number;
  /** Soft positions. */
  readonly positions: number;
  /** [N] validation sample ids, in activation-row order. */
  readonly sampleIds: readonly string[];
  /** [N, positions] */
  readonly data: Float32Array;
  readonly metric: string;
  /** The position with the largest |r| with the metric. */
  readonly bestPosition: number;
  /** r at bestPosition (NaN when undefined everywhere). */
  readonly r: number;
}

/** The run's metric names, with `label` first when there is one (the default explained metric). */
export async function defaultMetric(store: Store, runId: number): Promise<string> {
  const metrics = (await store.listMetrics(runId)).map((m) => m.name);
  if (metrics.length === 0) throw new ServiceError("BAD_STATE", `run ${runId} has no metrics yet: wait until it is scored`);
  return metrics.includes("label") ? "label" : metrics[0]!;
}

/** The neurons' stored activations, with the samples' ids and the metric read once for all. */
export async function loadStoredNeurons(store: Store, runId: number, refs: readonly NeuronRef[], metric: string): Promise<StoredNeuron[]> {
  // by sample ordinal, the key of the stored activations (Store.readMetricAligned)
  const values = await store.readMetricAligned(runId, metric).catch((e: Error) => {
    throw new ServiceError("NOT_FOUND", `run ${runId}: metric "${metric}": ${e.message}`, { cause: e });
  });
  return Promise.all(refs.map(async (ref) => {
    const acts = await store.readNeuron(runId, ref.layer, ref.neuron);
    if (acts.sampleIdx.length === 0) {
      throw new ServiceError("BAD_STATE", `run ${runId} has no stored activations for layer ${ref.layer} (not recorded, or a top-k storage run)`);
    }
    const sampleIds = Array.from(acts.sampleIdx, (idx) => {
      const id = values.sampleId[idx];
      if (id === undefined) throw new ServiceError("BAD_STATE", `run ${runId}: sample ordinal ${idx} has activations but is not one of its ${values.sampleId.length} analysed samples`);
      return id;
    });
    const y = Array.from(acts.sampleIdx, (idx) => values.value[idx] ?? NaN);
    const defined = y.flatMap((v, i) => (Number.isFinite(v) ? [i] : []));
    const P = acts.positions;
    let bestPosition = 0;
    let r = NaN;
    for (let p = 0; p < P; p++) {
      const rp = pearsonPair(defined.map((i) => acts.data[i * P + p]!), defined.map((i) => y[i]!));
      if (Number.isFinite(rp) && !(Math.abs(rp) <= Math.abs(r))) [bestPosition, r] = [p, rp];
    }
    return { layer: ref.layer, neuron: ref.neuron, positions: P, sampleIds, data: acts.data, metric, bestPosition, r };
  }));
}

/** The neuron's activations at one position, [N]. */
export function atPosition(n: StoredNeuron, position: number): Float64Array {
  return Float64Array.from(n.sampleIds, (_, i) => n.data[i * n.positions + position]!);
}

/** Mid-rank percentile (0..100) of `value` among `sorted` (ascending). */
export function percentileOf(sorted: Float64Array, value: number): number {
  let below = 0;
  let equal = 0;
  for (const v of sorted) {
    if (v < value) below++;
    else if (v === value) equal++;
    else break;
  }
  return (100 * (below + equal / 2)) / sorted.length;
}
