/** Analytic significance of Pearson r and the Benjamini-Hochberg procedure. */
import { AnalysisError } from "./errors.js";
import { regularizedIncompleteBeta } from "./special-functions.js";

/**
 * Two-sided p-value of Pearson r over n samples under H0 (bivariate normal, rho = 0): Student t with
 * n - 2 degrees of freedom, p = I_{1-r^2}((n-2)/2, 1/2); matches scipy.stats.pearsonr. NaN if r is NaN
 * or n < 3.
 */
export function pearsonPValue(r: number, n: number): number {
  if (Number.isNaN(r) || n < 3) return Number.NaN;
  const a = Math.abs(r);
  if (a >= 1) return 0;
  const df = n - 2;
  return Math.min(1, regularizedIncompleteBeta(df / 2, 0.5, (1 - a) * (1 + a), a * a));
}

/** p-values of many r at once (same n). */
export function pearsonPValues(r: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(r.length);
  for (let i = 0; i < r.length; i++) out[i] = pearsonPValue(r[i], n);
  return out;
}

/**
 * Sidak correction of the smallest of m p-values: 1 - (1 - p)^m, the chance that at least one of m
 * independent null tests reaches p. For two-sided tests of jointly normal statistics it is an upper
 * bound whatever their correlation (Sidak 1967), so correlated positions make it conservative, never
 * lenient. Computed as -expm1(m * log1p(-p)) so a tiny p keeps its digits. NaN stays NaN.
 */
export function sidakCorrected(p: number, m: number): number {
  if (!(Number.isInteger(m) && m >= 1)) throw new AnalysisError("BAD_ARGUMENT", `sidakCorrected needs a test count m >= 1, got ${m}`);
  if (Number.isNaN(p)) return Number.NaN;
  if (p >= 1) return 1;
  return Math.min(1, -Math.expm1(m * Math.log1p(-p)));
}

/** |r| whose two-sided p-value is `p` for n samples (bisection on pearsonPValue). */
export function criticalAbsR(p: number, n: number): number {
  if (!(p > 0 && p < 1) || n < 3) throw new AnalysisError("BAD_ARGUMENT", `criticalAbsR needs 0 < p < 1 and n >= 3, got p=${p}, n=${n}`);
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (pearsonPValue(mid, n) > p) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface BenjaminiHochberg {
  q: number;
  /** Largest p-value declared significant (reject p <= pThreshold); 0 when there are no discoveries. */
  pThreshold: number;
  discoveries: number;
  /** Non-NaN p-values tested. */
  tests: number;
}

/** Benjamini-Hochberg step-up at false-discovery rate q over the non-NaN p-values. */
export function benjaminiHochberg(pValues: ArrayLike<number>, q = 0.05): BenjaminiHochberg {
  if (!(q > 0 && q < 1)) throw new AnalysisError("BAD_ARGUMENT", `q must be in (0, 1), got ${q}`);
  const ps: number[] = [];
  for (let i = 0; i < pValues.length; i++) if (!Number.isNaN(pValues[i])) ps.push(pValues[i]);
  const sorted = Float64Array.from(ps).sort();
  const m = sorted.length;
  let k = 0;
  for (let i = m; i >= 1; i--) {
    if (sorted[i - 1] <= (i * q) / m) { k = i; break; }
  }
  return { q, pThreshold: k > 0 ? sorted[k - 1] : 0, discoveries: k, tests: m };
}
