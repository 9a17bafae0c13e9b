/**
 * Turning correlations into stored scores: per (metric, layer) the r at every position, the
 * max |r| over positions (with its argmax) and the r of the activation maximised over positions,
 * each with its analytic two-sided p-value; max |r| also with that p Sidak-corrected for having
 * chosen the best of P positions (pCorrected), the p its ranking can be read against.
 */
import { maxAbsOverPositions, pearsonPValues, scoreMetricInWorkers, sidakCorrected, type StreamingStats } from "../analysis/index.js";
import type { ScoreBatch } from "../store/scores.js";
import type { Store } from "../store/store.js";

/** r of one metric at one layer: [P, F] per position and [F] for the max-activation aggregate. */
export interface LayerCorrelations {
  layer: number;
  positions: number;
  neurons: number;
  r: Float64Array;
  rMaxActivation: Float64Array;
  /** Samples behind the correlations (for p-values). */
  samples: number;
}

export function scoreBatches(metric: string, layerCorrelations: LayerCorrelations): ScoreBatch[] {
  // r over fewer than 3 samples is +-1 or nothing: undefined, like its p
  const c = layerCorrelations.samples >= 3 ? layerCorrelations
    : { ...layerCorrelations, r: layerCorrelations.r.map(() => Number.NaN), rMaxActivation: layerCorrelations.rMaxActivation.map(() => Number.NaN) };
  const { layer, positions: P, neurons: F } = c;
  const neuron = Int32Array.from({ length: P * F }, (_, i) => i % F);
  const position = Int32Array.from({ length: P * F }, (_, i) => Math.floor(i / F));
  const agg = maxAbsOverPositions(c.r, P, F);
  // a neuron whose r is undefined everywhere has no best position; its r is NaN and never ranked
  agg.position.forEach((p, i) => { if (p < 0) agg.position[i] = 0; });
  const ids = Int32Array.from({ length: F }, (_, i) => i);
  const pAtBest = pearsonPValues(agg.r, c.samples);
  return [
    { metric, agg: "position", layer, position, neuron, r: c.r, p: pearsonPValues(c.r, c.samples) },
    { metric, agg: "max_abs_r", layer, position: agg.position, neuron: ids, r: agg.r, p: pAtBest, pCorrected: pAtBest.map((p) => sidakCorrected(p, P)) },
    { metric, agg: "max_act", layer, position: null, neuron: ids, r: c.rMaxActivation, p: pearsonPValues(c.rMaxActivation, c.samples) },
  ];
}

/** Every metric's scores from a run's streaming statistics. */
export function correlationsFromStats(stats: StreamingStats, layers: readonly number[], metric: string, positions: number, neurons: number): LayerCorrelations[] {
  return layers.map((layer) => ({
    layer, positions, neurons,
    r: stats.pearson(layer, metric),
    rMaxActivation: stats.pearsonMaxActivation(layer, metric),
    samples: stats.count(layer),
  }));
}

/**
 * Scores a metric from the run's stored activations (metrics added after the run, or any metric
 * with missing values): only samples where the metric is defined count.
 * @param values [N] by sample ordinal, as Store.readMetricAligned gives them (NaN = missing)
 */
export async function scoreFromStoredActivations(store: Store, runId: number, metric: string, values: Float64Array, layers: readonly number[]): Promise<LayerCorrelations[]> {
  const out: LayerCorrelations[] = [];
  for (const layer of layers) {
    const acts = await store.readActivations(runId, layer);
    const aligned = Float64Array.from(acts.sampleIdx, (i) => values[i] ?? Number.NaN);
    const s = await scoreMetricInWorkers([acts.data], aligned, acts.positions, acts.dFF);
    out.push({ layer, positions: acts.positions, neurons: acts.dFF, r: s.r[0], rMaxActivation: s.rMaxActivation[0], samples: s.samples });
  }
  return out;
}

export async function writeCorrelations(store: Store, runId: number, metric: string, layers: LayerCorrelations[]): Promise<void> {
  await store.deleteScores(runId, metric);
  await store.writeScores(runId, layers.flatMap((c) => scoreBatches(metric, c)));
}
