/** Alternative neuron scores: Spearman rank correlation, mutual information, threshold accuracy. */
import { AnalysisError } from "./errors.js";

function checkPair(x: ArrayLike<number>, y: ArrayLike<number>): void {
  if (x.length !== y.length) throw new AnalysisError("SHAPE_MISMATCH", `x has length ${x.length} but y has ${y.length}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) throw new AnalysisError("NON_FINITE", `sample ${i} has a non-finite value: drop it first`);
  }
}

/** 1-based ranks with ties given their average rank (scipy.stats.rankdata "average"). */
export function averageRanks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]] === v[order[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[order[t]] = avg;
    i = j + 1;
  }
  return ranks;
}

/** Two-pass float64 Pearson r of two equal-length vectors; NaN when either is constant. */
export function pearsonPair(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y);
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
  mx /= n; my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  const den = Math.sqrt(sxx * syy);
  return den > 0 ? Math.max(-1, Math.min(1, sxy / den)) : Number.NaN;
}

/** Spearman rho: Pearson r of average ranks (matches scipy.stats.spearmanr). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y);
  return pearsonPair(averageRanks(x), averageRanks(y));
}

/**
 * Spearman rho of `y` with selected columns of x [N, cols] (default all): the metric is ranked once,
 * each column on its own. O(N log N) per column, so meant for a layer or a shortlist, not a whole 7B run.
 */
export function spearmanColumns(x: Float32Array, cols: number, y: ArrayLike<number>, columns?: ArrayLike<number>): Float64Array {
  const n = y.length;
  if (x.length !== n * cols) throw new AnalysisError("SHAPE_MISMATCH", `activations have length ${x.length}, expected N*cols = ${n}*${cols}`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new AnalysisError("NON_FINITE", `activation ${i} is not finite`);
  const ry = averageRanks(y);
  const pick = columns ?? Array.from({ length: cols }, (_, j) => j);
  const out = new Float64Array(pick.length);
  const col = new Float64Array(n);
  for (let t = 0; t < pick.length; t++) {
    const j = pick[t];
    if (!(Number.isInteger(j) && j >= 0 && j < cols)) throw new AnalysisError("BAD_ARGUMENT", `column ${j} is outside [0, ${cols})`);
    for (let s = 0; s < n; s++) col[s] = x[s * cols + j];
    out[t] = pearsonPair(averageRanks(col), ry);
  }
  return out;
}

/**
 * Discretises values: as their distinct values when there are at most `bins` of them (labels, flags),
 * else into `bins` equal-frequency bins by average rank. Returns codes [N] and the number of codes.
 */
export function discretize(v: ArrayLike<number>, bins: number): { codes: Int32Array; levels: number } {
  const n = v.length;
  const distinct = new Map<number, number>();
  for (let i = 0; i < n && distinct.size <= bins; i++) if (!distinct.has(v[i])) distinct.set(v[i], distinct.size);
  const codes = new Int32Array(n);
  if (distinct.size <= bins) {
    const sortedLevels = [...distinct.keys()].sort((a, b) => a - b);
    const code = new Map(sortedLevels.map((val, i) => [val, i] as const));
    for (let i = 0; i < n; i++) codes[i] = code.get(v[i]) as number;
    return { codes, levels: sortedLevels.length };
  }
  const ranks = averageRanks(v);
  for (let i = 0; i < n; i++) codes[i] = Math.min(bins - 1, Math.floor(((ranks[i] - 0.5) * bins) / n));
  return { codes, levels: bins };
}

/** Miller-Madow corrected entropy (nats) of a count table over `n` samples. */
function entropyMillerMadow(counts: Float64Array, n: number): number {
  let h = 0;
  let occupied = 0;
  for (const c of counts) {
    if (c > 0) { h -= (c / n) * Math.log(c / n); occupied++; }
  }
  return h + (occupied - 1) / (2 * n);
}

/**
 * Mutual information (nats) between x and y, binned (see `discretize`, default 16 bins each) with the
 * Miller-Madow bias correction on each entropy: I = H(X) + H(Y) - H(X, Y).
 */
export function mutualInformation(x: ArrayLike<number>, y: ArrayLike<number>, bins = 16): number {
  checkPair(x, y);
  if (!(Number.isInteger(bins) && bins >= 2)) throw new AnalysisError("BAD_ARGUMENT", `bins must be an integer >= 2, got ${bins}`);
  const n = x.length;
  if (n === 0) return Number.NaN;
  const dx = discretize(x, bins);
  const dy = discretize(y, bins);
  const cx = new Float64Array(dx.levels);
  const cy = new Float64Array(dy.levels);
  const cxy = new Float64Array(dx.levels * dy.levels);
  for (let i = 0; i < n; i++) {
    cx[dx.codes[i]]++;
    cy[dy.codes[i]]++;
    cxy[dx.codes[i] * dy.levels + dy.codes[i]]++;
  }
  return entropyMillerMadow(cx, n) + entropyMillerMadow(cy, n) - entropyMillerMadow(cxy, n);
}

export interface ThresholdAccuracy {
  /** Mean activation over the training subset. */
  threshold: number;
  /** max(acc, 1 - acc) over the evaluation subset, where the prediction is (x > threshold). */
  accuracy: number;
  /** True when the neuron predicts label 1 by being below the threshold (acc < 0.5 before flipping). */
  inverted: boolean;
}

/**
 * Skill-neuron predictivity (Wang et al. 2022): threshold the activation at its mean over `train`, predict
 * the binary label (0/1) by side, score max(acc, 1 - acc) on `evaluate` (default: all samples).
 */
export function thresholdAccuracy(
  x: ArrayLike<number>, labels: ArrayLike<number>, train: ArrayLike<number>, evaluate?: ArrayLike<number>,
): ThresholdAccuracy {
  checkPair(x, labels);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new AnalysisError("BAD_ARGUMENT", `label of sample ${i} is ${labels[i]}; threshold accuracy needs 0/1 labels`);
  }
  if (train.length === 0) throw new AnalysisError("BAD_ARGUMENT", "training subset is empty");
  for (const idx of [train, evaluate ?? []]) {
    for (let i = 0; i < idx.length; i++) {
      if (!(Number.isInteger(idx[i]) && idx[i] >= 0 && idx[i] < x.length)) throw new AnalysisError("BAD_ARGUMENT", `sample index ${idx[i]} is outside [0, ${x.length})`);
    }
  }
  let sum = 0;
  for (let i = 0; i < train.length; i++) sum += x[train[i]];
  const threshold = sum / train.length;
  const evalIdx = evaluate ?? Array.from({ length: x.length }, (_, i) => i);
  if (evalIdx.length === 0) throw new AnalysisError("BAD_ARGUMENT", "evaluation subset is empty");
  let correct = 0;
  for (let i = 0; i < evalIdx.length; i++) {
    const s = evalIdx[i];
    if ((x[s] > threshold ? 1 : 0) === labels[s]) correct++;
  }
  const acc = correct / evalIdx.length;
  return { threshold, accuracy: Math.max(acc, 1 - acc), inverted: acc < 0.5 };
}
