/** Confidence intervals for causal effects: paired bootstrap over samples, Student t over draws. */
import { Prng } from "../analysis/prng.js";
import { regularizedIncompleteBeta } from "../analysis/special-functions.js";

export interface Interval {
  readonly estimate: number;
  /** Bounds of the 95% interval; NaN when it is undefined (too few values). */
  readonly low: number;
  readonly high: number;
}

/**
 * Mean of the paired differences after[i] - before[i] with a 95% percentile bootstrap interval
 * (`resamples` resamples of the samples with replacement, seeded).
 */
export function pairedBootstrap(before: ArrayLike<number>, after: ArrayLike<number>, resamples: number, seed: number): Interval {
  const n = before.length;
  const d = Float64Array.from({ length: n }, (_, i) => after[i]! - before[i]!);
  const estimate = meanOf(d);
  if (n < 2) return { estimate, low: Number.NaN, high: Number.NaN };
  const rng = new Prng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[rng.nextInt(n)]!;
    means[b] = s / n;
  }
  means.sort();
  return { estimate, low: quantileSorted(means, 0.025), high: quantileSorted(means, 0.975) };
}

/** Mean of `values` with the 95% Student t interval mean +- t_{0.975, n-1} * sd / sqrt(n). */
export function tInterval(values: ArrayLike<number>): Interval {
  const n = values.length;
  const estimate = meanOf(values);
  if (n < 2) return { estimate, low: Number.NaN, high: Number.NaN };
  const half = studentTQuantile(0.975, n - 1) * sampleSd(values) / Math.sqrt(n);
  return { estimate, low: estimate - half, high: estimate + half };
}

/** Student t CDF with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * regularizedIncompleteBeta(df / 2, 0.5, x);
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile p in (0, 1) of Student t (bisection on the CDF; 1e-12 absolute). */
export function studentTQuantile(p: number, df: number): number {
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function meanOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length ? s / a.length : Number.NaN;
}

/** Sample standard deviation (n - 1). */
export function sampleSd(a: ArrayLike<number>): number {
  const m = meanOf(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - m) ** 2;
  return Math.sqrt(s / (a.length - 1));
}

/** Linear-interpolation quantile (numpy default) of ascending values. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < sorted.length ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!;
}
