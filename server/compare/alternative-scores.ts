/**
 * Alternative neuron scores for one layer, from stored activations: Pearson, Spearman, mutual
 * information and (for 0/1 metrics) threshold accuracy per neuron, the top-K set each selects,
 * and how much those sets overlap.
 */
import { mutualInformation, pearsonPair, spearmanColumns, thresholdAccuracy } from "../analysis/rank-scores.js";
import { ServiceError } from "../errors.js";
import type { Store } from "../store/store.js";
import { jaccard } from "./set-stats.js";

export type ScoreKind = "pearson" | "spearman" | "mutualInformation" | "thresholdAccuracy";

export interface AlternativeScoreOptions {
  /** Top-K size per score (default 10). */
  k?: number;
  /** Bins per variable for mutual information (default 16). */
  bins?: number;
  /** Read every neuron at this soft position. */
  position?: number;
  /** Read each neuron's activation maximised over positions (explicit only: its r can differ in sign from the ranked one). */
  maxOverPositions?: boolean;
}

/**
 * What the scores read: by default each neuron at its best position for the metric (where its stored
 * max |r| is, the position that ranked it), or one named position, or the max over positions.
 */
export type AlternativeReading = "best_position" | "position" | "max_over_positions";

export interface AlternativeScores {
  runId: number;
  metric: string;
  layer: number;
  /** Samples with a defined metric value. */
  samples: number;
  reading: AlternativeReading;
  /** [dFF] the position each neuron was read at; -1 for max over positions, and for a neuron with no defined r at any position (its scores are NaN). */
  positions: Int32Array;
  /** [dFF] per score; thresholdAccuracy is null unless the metric is 0/1. */
  scores: { pearson: Float64Array; spearman: Float64Array; mutualInformation: Float64Array; thresholdAccuracy: Float64Array | null };
  /** Top-K neuron indices per score (by |r| for correlations, by value otherwise). */
  topK: Partial<Record<ScoreKind, number[]>>;
  /** Jaccard overlap of the top-K sets of every pair of scores. */
  overlap: { a: ScoreKind; b: ScoreKind; jaccard: number }[];
}

export async function alternativeScores(store: Store, runId: number, metric: string, layer: number, options: AlternativeScoreOptions = {}): Promise<AlternativeScores> {
  const k = options.k ?? 10;
  const bins = options.bins ?? 16;
  if (!(Number.isInteger(k) && k >= 1)) throw new ServiceError("BAD_INPUT", `alternative scores k must be a positive integer, got ${k}`);
  if (!(Number.isInteger(bins) && bins >= 2 && bins <= 256)) throw new ServiceError("BAD_INPUT", `alternative scores bins must be an integer in 2..256, got ${bins}`);
  const acts = await store.readActivations(runId, layer);
  if (acts.sampleIdx.length === 0) throw new ServiceError("BAD_STATE", `run ${runId} has no stored activations for layer ${layer}`);
  const P = acts.positions;
  const F = acts.dFF;
  if (options.position !== undefined && !(Number.isInteger(options.position) && options.position >= 0 && options.position < P)) {
    throw new ServiceError("BAD_INPUT", `position ${options.position} is outside 0..${P - 1}`);
  }
  if (options.position !== undefined && options.maxOverPositions) throw new ServiceError("BAD_INPUT", "position and maxOverPositions exclude each other; give one");
  const reading: AlternativeReading = options.maxOverPositions ? "max_over_positions" : options.position !== undefined ? "position" : "best_position";
  const positions = reading === "best_position"
    ? await bestPositions(store, runId, metric, layer, F)
    : new Int32Array(F).fill(reading === "position" ? options.position! : -1);
  const y = await metricBySampleIdx(store, runId, metric, acts.sampleIdx);
  const keep: number[] = [];
  for (let i = 0; i < y.length; i++) if (Number.isFinite(y[i])) keep.push(i);
  if (keep.length < 3) throw new ServiceError("BAD_STATE", `metric "${metric}" has ${keep.length} defined values on run ${runId}'s samples; need at least 3`);
  const N = keep.length;
  const yk = Float64Array.from(keep, (i) => y[i]!);
  // x [N, F]: each neuron's position, or its max over positions (the "max_act" aggregate); 0 for a
  // neuron without a best position (its scores are set NaN below)
  const x = new Float32Array(N * F);
  keep.forEach((s, row) => {
    for (let f = 0; f < F; f++) {
      let v = 0;
      if (reading === "max_over_positions") {
        v = -Infinity;
        for (let p = 0; p < P; p++) v = Math.max(v, acts.data[(s * P + p) * F + f]!);
      } else if (positions[f]! >= 0) v = acts.data[(s * P + positions[f]!) * F + f]!;
      x[row * F + f] = v;
    }
  });
  const pearson = new Float64Array(F);
  const mi = new Float64Array(F);
  const col = new Float64Array(N);
  const binary = yk.every((v) => v === 0 || v === 1);
  const thr = binary ? new Float64Array(F) : null;
  // threshold fitted on even samples, scored on odd ones: no in-sample accuracy
  const train = keep.map((_, i) => i).filter((i) => i % 2 === 0);
  const evaluate = keep.map((_, i) => i).filter((i) => i % 2 === 1);
  for (let f = 0; f < F; f++) {
    for (let i = 0; i < N; i++) col[i] = x[i * F + f]!;
    pearson[f] = pearsonPair(col, yk);
    mi[f] = mutualInformation(col, yk, bins);
    if (thr) thr[f] = thresholdAccuracy(col, yk, train, evaluate).accuracy;
  }
  const spearman = spearmanColumns(x, F, yk);
  if (reading === "best_position") {
    for (let f = 0; f < F; f++) {
      if (positions[f]! < 0) [pearson[f], spearman[f], mi[f]] = [Number.NaN, Number.NaN, Number.NaN];
      if (positions[f]! < 0 && thr) thr[f] = Number.NaN;
    }
  }
  const rank = (v: Float64Array, abs: boolean) => Array.from({ length: F }, (_, f) => f)
    .filter((f) => Number.isFinite(v[f]))
    .sort((a, b) => (abs ? Math.abs(v[b]!) - Math.abs(v[a]!) : v[b]! - v[a]!) || a - b)
    .slice(0, k);
  const topK: Partial<Record<ScoreKind, number[]>> = {
    pearson: rank(pearson, true), spearman: rank(spearman, true), mutualInformation: rank(mi, false),
    ...(thr ? { thresholdAccuracy: rank(thr, false) } : {}),
  };
  const kinds = Object.keys(topK) as ScoreKind[];
  const overlap: AlternativeScores["overlap"] = [];
  for (let a = 0; a < kinds.length; a++) {
    for (let b = a + 1; b < kinds.length; b++) overlap.push({ a: kinds[a]!, b: kinds[b]!, jaccard: jaccard(topK[kinds[a]!]!.map(String), topK[kinds[b]!]!.map(String)) });
  }
  return { runId, metric, layer, samples: N, reading, positions, scores: { pearson, spearman, mutualInformation: mi, thresholdAccuracy: thr }, topK, overlap };
}

/** The metric's value for each activation row, through the store's alignment by sample ordinal; NaN where missing. */
async function metricBySampleIdx(store: Store, runId: number, metric: string, sampleIdx: Int32Array): Promise<Float64Array> {
  const m = await store.readMetricAligned(runId, metric).catch((e: Error) => {
    throw new ServiceError("NOT_FOUND", `alternative scores: ${e.message}`, { cause: e });
  });
  return Float64Array.from(sampleIdx, (idx) => m.value[idx] ?? Number.NaN);
}

/** [dFF] each neuron's best position for the metric (its stored max |r| score), -1 where its r is undefined everywhere. */
async function bestPositions(store: Store, runId: number, metric: string, layer: number, dFF: number): Promise<Int32Array> {
  const out = new Int32Array(dFF).fill(-1);
  let found = 0;
  for (let after: string | null = null; ;) {
    const page = await store.queryScores(runId, { metric, agg: "max_abs_r", layer, first: 1000, after });
    for (const row of page.rows) {
      if (row.position !== null && row.neuron < dFF) {
        out[row.neuron] = row.position;
        found++;
      }
    }
    if (!page.hasNextPage) break;
    after = page.endCursor;
  }
  if (found === 0) {
    throw new ServiceError(
      "BAD_STATE",
      `run ${runId} has no stored scores of metric "${metric}" in layer ${layer}, so no neuron has a best position: give a position or maxOverPositions`,
    );
  }
  return out;
}
