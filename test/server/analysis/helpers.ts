/** Test helpers: seeded data and the float64 two-pass reference Pearson. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Prng } from "../../../server/analysis/prng.js";

/** Repository root, from dist/test/server/analysis/helpers.js. */
export const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(`${ROOT}test/fixtures/analysis/${name}`, "utf8")) as T;
}

export function gaussians(n: number, seed: number, mean = 0, sd = 1): Float64Array {
  const rng = new Prng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * rng.nextGaussian();
  return out;
}

/** Uniform float32 noise in [0, 1), cheap enough for large activation arrays. */
export function uniformActivations(n: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextUint32() / 4294967296;
  return out;
}

/** Two-pass float64 Pearson r of column j of x [N, cols] with y [N]. */
export function referenceR(x: ArrayLike<number>, cols: number, j: number, y: ArrayLike<number>): number {
  const n = y.length;
  let mx = 0;
  let my = 0;
  for (let s = 0; s < n; s++) { mx += x[s * cols + j]; my += y[s]; }
  mx /= n; my /= n;
  let sxy = 0; let sxx = 0; let syy = 0;
  for (let s = 0; s < n; s++) {
    const dx = x[s * cols + j] - mx;
    const dy = y[s] - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

export function assertClose(actual: number, expected: number, rel: number, abs = 0, what = ""): void {
  const tol = Math.max(abs, rel * Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${what}: ${actual} differs from ${expected} by ${Math.abs(actual - expected)} (tolerance ${tol})`);
  }
}

export function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
