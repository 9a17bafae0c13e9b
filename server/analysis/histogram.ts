/** Fixed-bin histograms (r over [-1, 1] by default). */
import { AnalysisError, expectInt } from "./errors.js";

export interface Histogram {
  /** [bins + 1] bin edges, lo..hi */
  edges: Float64Array;
  /** [bins]; bin i holds edges[i] <= v < edges[i+1], the last bin also holds v = hi */
  counts: Float64Array;
  /** NaN values (undefined r), not in any bin */
  undefinedCount: number;
  /** Finite values outside [lo, hi] */
  outOfRange: number;
}

/** Histogram of `values` with `bins` equal bins over [lo, hi]. */
export function histogram(values: ArrayLike<number>, bins = 40, lo = -1, hi = 1): Histogram {
  expectInt("bins", bins, 1, 1 << 24);
  if (!(hi > lo)) throw new AnalysisError("BAD_ARGUMENT", `histogram range [${lo}, ${hi}] is empty`);
  const counts = new Float64Array(bins);
  const scale = bins / (hi - lo);
  let undefinedCount = 0;
  let outOfRange = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) { undefinedCount++; continue; }
    if (v < lo || v > hi) { outOfRange++; continue; }
    let b = Math.floor((v - lo) * scale);
    if (b >= bins) b = bins - 1;
    counts[b]++;
  }
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) edges[i] = lo + ((hi - lo) * i) / bins;
  return { edges, counts, undefinedCount, outOfRange };
}
