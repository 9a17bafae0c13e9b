/**
 * Permutation null for Pearson r: shuffle the metric (seeded), recompute r for every neuron from the
 * full activations, and pool |r| over neurons and permutations. All permutations of one column block
 * are one [K x N] by [N x block] product, the same kernel as the streaming statistics.
 */
import { AnalysisError, expectInt, expectLength } from "./errors.js";
import { blockScratch, COLUMN_BLOCK, shiftedBlockSums } from "./moment-kernel.js";
import { Prng } from "./prng.js";
import { type BenjaminiHochberg, benjaminiHochberg } from "./significance.js";

/** Resolution of the pooled |r| null histogram over [0, 1]. */
export const NULL_HISTOGRAM_BINS = 1 << 16;

export interface PermutationNullOptions {
  /** [N] metric values, finite. */
  metric: Float64Array;
  layers: number;
  positions: number;
  neurons: number;
  /**
   * Full activations per layer, [N, P, F] sample-major: an array indexed by layer, or a callback that
   * is called once per layer, in order (so a store can stream one layer at a time).
   */
  activations: Float32Array[] | ((layer: number) => Float32Array | Promise<Float32Array>);
  /** Number of shuffles (default 200). */
  permutations?: number;
  seed?: number;
  /** FDR for the Benjamini-Hochberg threshold (default 0.05). */
  q?: number;
  /** Permutations per pass over a layer's data (default 64); bounds memory to (K+1) x COLUMN_BLOCK. */
  permutationsPerPass?: number;
}

export interface PermutationNull {
  permutations: number;
  /** Observed r per layer, [P * F] each. */
  observed: Float64Array[];
  /** Pooled null |r| over all neurons and permutations: counts over [0, 1] in NULL_HISTOGRAM_BINS bins. */
  nullAbsCounts: Float64Array;
  /** [permutations] max |r| over all neurons of each permutation. */
  nullMaxAbsR: Float64Array;
  /** 99.9th percentile of the pooled null |r| (bin-resolution, linear within the bin). */
  pooledAbsR999: number;
  /** 99.9th percentile of the null max |r| (linear interpolation, as numpy). */
  maxAbsR999: number;
  /** Per layer [P * F]: (1 + #pooled null |r| >= |r_obs|) / (1 + #pooled null), conservative at bin resolution. */
  pValues: Float64Array[];
  /** Per layer [P * F]: (1 + #permutations with max |r| >= |r_obs|) / (1 + permutations): family-wise. */
  maxPValues: Float64Array[];
  /**
   * Per layer [F]: each neuron's own null of its best position, (1 + #permutations whose max over
   * positions of |r| reaches the observed max over positions) / (1 + permutations). The exact
   * position-corrected p, whatever the correlation between positions.
   */
  neuronBestPositionP: Float64Array[];
  /** BH over the pooled permutation p-values; absRThreshold is the smallest |r| declared significant. */
  bh: BenjaminiHochberg & { absRThreshold: number };
}

/** Quantile (linear interpolation between order statistics, numpy's default) of a sorted array. */
export function sortedQuantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Runs the permutation null; see PermutationNull for what comes back. */
export async function permutationNull(opts: PermutationNullOptions): Promise<PermutationNull> {
  const { metric, layers, positions, neurons } = opts;
  const perms = opts.permutations ?? 200;
  const perPass = opts.permutationsPerPass ?? 64;
  expectInt("permutations", perms, 1);
  expectInt("permutationsPerPass", perPass, 1);
  expectInt("layers", layers, 1);
  const n = metric.length;
  if (n < 3) throw new AnalysisError("BAD_ARGUMENT", `permutation null needs at least 3 samples, got ${n}`);
  // Row 0 is the observed metric, rows 1..K are shuffles; each row standardised so r = sum z * x / sqrt(M2x).
  const rowsTotal = perms + 1;
  const z = new Float64Array(rowsTotal * n);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += metric[i];
  mean /= n;
  let m2 = 0;
  for (let i = 0; i < n; i++) m2 += (metric[i] - mean) ** 2;
  if (!Number.isFinite(m2)) throw new AnalysisError("NON_FINITE", "metric has NaN or infinite values: drop those samples first");
  if (!(m2 > 0)) throw new AnalysisError("BAD_ARGUMENT", "metric is constant: its correlation is undefined");
  const inv = 1 / Math.sqrt(m2);
  const base = new Float64Array(n);
  for (let i = 0; i < n; i++) base[i] = (metric[i] - mean) * inv;
  z.set(base, 0);
  const rng = new Prng(opts.seed ?? 0);
  for (let k = 1; k < rowsTotal; k++) {
    const row = base.slice();
    rng.shuffle(row);
    z.set(row, k * n);
  }

  const cols = positions * neurons;
  const counts = new Float64Array(NULL_HISTOGRAM_BINS);
  const maxAbs = new Float64Array(perms);
  const observed: Float64Array[] = [];
  const neuronBestPositionP: Float64Array[] = [];
  // [permutations, F] max |r| over positions of each neuron under each shuffle (this layer)
  const neuronNullMax = new Float64Array(perms * neurons);
  const scratch = blockScratch(Math.min(perPass + 1, rowsTotal));
  for (let layer = 0; layer < layers; layer++) {
    const source = opts.activations;
    const x = typeof source === "function" ? await source(layer) : source[layer];
    if (!x) throw new AnalysisError("BAD_ARGUMENT", `no activations given for layer ${layer}`);
    expectLength(`activations of layer ${layer} ([N=${n}, P, F])`, x.length, n * cols);
    const obs = new Float64Array(cols);
    neuronNullMax.fill(0);
    for (let k0 = 0; k0 < rowsTotal; k0 += perPass + 1) {
      const k1 = Math.min(rowsTotal, k0 + perPass + 1);
      const m = k1 - k0;
      const zc = z.subarray(k0 * n, k1 * n);
      for (let c0 = 0; c0 < cols; c0 += COLUMN_BLOCK) {
        const c1 = Math.min(cols, c0 + COLUMN_BLOCK);
        const width = c1 - c0;
        shiftedBlockSums(x, n, cols, c0, c1, zc, m, scratch, 0, width);
        for (let c = 0; c < width; c++) {
          const m2x = scratch.sxx[c] - (scratch.sx[c] * scratch.sx[c]) / n;
          if (!Number.isFinite(m2x)) throw new AnalysisError("NON_FINITE", `activations of layer ${layer} contain NaN or Infinity`);
          const scale = m2x > 0 ? 1 / Math.sqrt(m2x) : Number.NaN;
          for (let kk = 0; kk < m; kk++) {
            const r = scratch.cxy[kk * width + c] * scale;
            const k = k0 + kk;
            if (k === 0) { obs[c0 + c] = Math.max(-1, Math.min(1, r)); continue; }
            if (Number.isNaN(r)) continue;
            const a = Math.min(1, Math.abs(r));
            counts[Math.min(NULL_HISTOGRAM_BINS - 1, Math.floor(a * NULL_HISTOGRAM_BINS))]++;
            if (a > maxAbs[k - 1]) maxAbs[k - 1] = a;
            const cell = (k - 1) * neurons + ((c0 + c) % neurons);
            if (a > neuronNullMax[cell]) neuronNullMax[cell] = a;
          }
        }
      }
    }
    observed.push(obs);
    neuronBestPositionP.push(bestPositionPValues(obs, neuronNullMax, positions, neurons, perms));
  }

  // tail[b] = number of pooled null values in bins >= b
  const tail = new Float64Array(NULL_HISTOGRAM_BINS + 1);
  for (let b = NULL_HISTOGRAM_BINS - 1; b >= 0; b--) tail[b] = tail[b + 1] + counts[b];
  const totalNull = tail[0];
  const sortedMax = maxAbs.slice().sort();
  const pValues: Float64Array[] = [];
  const maxPValues: Float64Array[] = [];
  for (const obs of observed) {
    const p = new Float64Array(cols);
    const pm = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const r = obs[j];
      if (Number.isNaN(r)) { p[j] = Number.NaN; pm[j] = Number.NaN; continue; }
      const a = Math.abs(r);
      const bin = Math.min(NULL_HISTOGRAM_BINS - 1, Math.floor(a * NULL_HISTOGRAM_BINS));
      p[j] = (1 + tail[bin]) / (1 + totalNull);
      pm[j] = (1 + perms - lowerBound(sortedMax, a)) / (1 + perms);
    }
    pValues.push(p);
    maxPValues.push(pm);
  }
  const all = new Float64Array(observed.length * cols);
  pValues.forEach((p, i) => all.set(p, i * cols));
  const bh = benjaminiHochberg(all, opts.q ?? 0.05);
  let absRThreshold = Number.NaN;
  if (bh.discoveries > 0) {
    absRThreshold = Infinity;
    observed.forEach((obs, i) => {
      for (let j = 0; j < cols; j++) if (pValues[i][j] <= bh.pThreshold) absRThreshold = Math.min(absRThreshold, Math.abs(obs[j]));
    });
  }
  return {
    permutations: perms, observed, nullAbsCounts: counts, nullMaxAbsR: maxAbs,
    pooledAbsR999: histogramQuantile(counts, totalNull, 0.999), maxAbsR999: sortedQuantile(sortedMax, 0.999),
    pValues, maxPValues, neuronBestPositionP, bh: { ...bh, absRThreshold },
  };
}

/** Per neuron: rank of the observed max |r| over positions among its shuffles' maxima (NaN if r is undefined everywhere). */
function bestPositionPValues(obs: Float64Array, nullMax: Float64Array, positions: number, neurons: number, perms: number): Float64Array {
  const out = new Float64Array(neurons);
  for (let f = 0; f < neurons; f++) {
    let best = -1;
    for (let p = 0; p < positions; p++) {
      const a = Math.abs(obs[p * neurons + f]);
      if (a > best) best = a;
    }
    if (best < 0) { out[f] = Number.NaN; continue; }
    let reached = 0;
    for (let k = 0; k < perms; k++) if (nullMax[k * neurons + f] >= best) reached++;
    out[f] = (1 + reached) / (1 + perms);
  }
  return out;
}

/** Index of the first element >= v in a sorted array. */
function lowerBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < v) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Quantile of a histogram over [0, 1], linear within the bin. */
function histogramQuantile(counts: Float64Array, total: number, q: number): number {
  if (total === 0) return Number.NaN;
  const target = q * total;
  let acc = 0;
  for (let b = 0; b < counts.length; b++) {
    if (acc + counts[b] >= target && counts[b] > 0) return (b + (target - acc) / counts[b]) / counts.length;
    acc += counts[b];
  }
  return 1;
}
