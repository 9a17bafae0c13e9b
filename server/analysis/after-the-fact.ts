/** Correlations of a metric added after the run, recomputed from stored full activations. */
import { AnalysisError } from "./errors.js";
import { StreamingStats } from "./streaming-stats.js";

export interface AfterTheFactScores {
  /** Samples where the metric is defined (finite). */
  samples: number;
  /** Per layer: r per (position, neuron), [P * F]. */
  r: Float64Array[];
  /** Per layer: r of the max-over-positions aggregate, [F]. */
  rMaxActivation: Float64Array[];
}

/** Rows per batch when streaming stored activations through the statistics. */
const ROWS_PER_BATCH = 64;

/** Neurons [from, to) of a layer. */
export interface NeuronRange {
  from: number;
  to: number;
}

/**
 * r of `metricValues` ([N], NaN for samples without a value) with every (layer, position, neuron) of
 * acts[l] ([N, P, F], row i = sample i), using only the samples where the metric is defined.
 * With `range`, only neurons [from, to) are scored: r is [P * (to - from)] and rMaxActivation
 * [to - from], each neuron computed exactly as in a whole-layer call (the worker-thread split).
 */
export function scoreMetricFromActivations(
  acts: Float32Array[], metricValues: Float64Array, positions: number, neurons: number, range: NeuronRange = { from: 0, to: neurons },
): AfterTheFactScores {
  const n = metricValues.length;
  const defined: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(metricValues[i])) defined.push(i);
    else if (!Number.isNaN(metricValues[i])) throw new AnalysisError("NON_FINITE", `metric value of sample ${i} is infinite: use NaN for a missing value`);
  }
  if (acts.length === 0) throw new AnalysisError("BAD_ARGUMENT", "no layers given");
  const cols = positions * neurons;
  acts.forEach((a, l) => {
    if (a.length !== n * cols) throw new AnalysisError("SHAPE_MISMATCH", `activations of layer ${l} have length ${a.length}, expected N*P*F = ${n}*${positions}*${neurons}`);
  });
  const { from, to } = range;
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= neurons)) {
    throw new AnalysisError("BAD_ARGUMENT", `neuron range [${from}, ${to}) is not a non-empty part of [0, ${neurons})`);
  }
  const stats = new StreamingStats({ layers: acts.length, positions, neurons: to - from, metrics: ["metric"] });
  // The range is read in place from whole rows; only rows around a missing value are copied together.
  const window = { stride: neurons, offset: from };
  const batch = new Float32Array(Math.min(ROWS_PER_BATCH, Math.max(1, defined.length)) * cols);
  for (let l = 0; l < acts.length; l++) {
    for (let i0 = 0; i0 < defined.length; i0 += ROWS_PER_BATCH) {
      const rows = defined.slice(i0, i0 + ROWS_PER_BATCH);
      const first = rows[0]!;
      const contiguous = rows[rows.length - 1] === first + rows.length - 1;
      if (!contiguous) rows.forEach((s, i) => batch.set(acts[l].subarray(s * cols, (s + 1) * cols), i * cols));
      const data = contiguous ? acts[l].subarray(first * cols, (first + rows.length) * cols) : batch.subarray(0, rows.length * cols);
      stats.update(l, data, Float64Array.from(rows, (s) => metricValues[s]), window);
    }
  }
  return {
    samples: defined.length,
    r: acts.map((_, l) => stats.pearson(l, "metric")),
    rMaxActivation: acts.map((_, l) => stats.pearsonMaxActivation(l, "metric")),
  };
}
