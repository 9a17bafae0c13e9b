import { formatNumber } from "./format.js";

/** One series of a split histogram. */
export interface MetricGroup {
  label: string;
  /** [bins] */
  counts: number[];
}

/** Metrics with at most this many distinct values get one group per value; others split at the median. */
const MAX_DISCRETE_VALUES = 6;

/**
 * Splits activations into histograms over the given bin `edges` (bin i is [edges[i], edges[i+1]),
 * the last bin closed, as the server bins) by the sample's metric value: one group per value of a
 * discrete metric (label, correct), else below / at-or-above the median. Samples without a value
 * form a "no value" group. Every sample lands in exactly one bin of one group.
 */
export function splitByMetric(edges: readonly number[], samples: readonly { activation: number; value: number | null }[], metric: string): MetricGroup[] {
  const bins = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const binOf = (v: number): number => Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)));

  const defined = samples.filter((s): s is { activation: number; value: number } => s.value !== null && Number.isFinite(s.value));
  const distinct = [...new Set(defined.map((s) => s.value))].sort((a, b) => a - b);
  let keyOf: (value: number) => number;
  let labels: string[];
  if (distinct.length <= MAX_DISCRETE_VALUES) {
    keyOf = (value) => distinct.indexOf(value);
    labels = distinct.map((v) => `${metric} = ${formatNumber(v)}`);
  } else {
    const sorted = defined.map((s) => s.value).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    keyOf = (value) => (value < median ? 0 : 1);
    labels = [`${metric} < ${formatNumber(median)}`, `${metric} ≥ ${formatNumber(median)}`];
  }
  const groups: MetricGroup[] = labels.map((label) => ({ label, counts: new Array<number>(bins).fill(0) }));
  const missing: MetricGroup = { label: `no ${metric} value`, counts: new Array<number>(bins).fill(0) };
  for (const s of samples) {
    const target = s.value !== null && Number.isFinite(s.value) ? groups[keyOf(s.value)]! : missing;
    target.counts[binOf(s.activation)]!++;
  }
  return missing.counts.some((c) => c > 0) ? [...groups, missing] : groups;
}
