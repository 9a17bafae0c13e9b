import type { ParsedTaskRow, TaskRow } from "./types.js";

export interface SplitOptions {
  /** Fraction of the rows without a `split` that go to validation, in [0, 1]. */
  readonly valFraction: number;
  /** Any integer; the same seed and ids always give the same split. */
  readonly seed: number;
}

export const DEFAULT_SPLIT: SplitOptions = { valFraction: 0.2, seed: 0 };

/**
 * cyrb53: a fast seeded 53-bit string hash (public domain, bryc). Uniform enough to rank ids.
 * Returns an integer in [0, 2^53).
 */
export function seededHash(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Gives every row without a `split` one, deterministically: the rows are ranked by a hash of
 * (seed, id) and the first round(valFraction * n) go to `val`. The result depends only on the
 * set of ids and the seed, not on row order. With 0 < valFraction < 1 and at least two
 * unsplit rows, each side gets at least one of them. Rows keep their order; rows with a
 * `split` keep it.
 */
export function assignSplits(rows: readonly ParsedTaskRow[], options: SplitOptions = DEFAULT_SPLIT): TaskRow[] {
  const { valFraction, seed } = options;
  if (!(valFraction >= 0 && valFraction <= 1)) {
    throw new RangeError(`valFraction must be in [0, 1], got ${valFraction}`);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const unsplit = rows.filter((r) => r.split === undefined);
  const n = unsplit.length;
  let nVal = Math.round(valFraction * n);
  if (valFraction > 0 && valFraction < 1 && n >= 2) nVal = Math.min(n - 1, Math.max(1, nVal));
  const ranked = unsplit
    .map((r) => ({ id: r.id, key: seededHash(r.id, seed) }))
    .sort((x, y) => x.key - y.key || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const val = new Set(ranked.slice(0, nVal).map((r) => r.id));
  return rows.map((r) => (r.split !== undefined ? (r as TaskRow) : { ...r, split: val.has(r.id) ? "val" : "train" }));
}
