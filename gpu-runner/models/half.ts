/** IEEE half (binary16) conversions for weights held as float16 bits in a Uint16Array. */

let HALF_TABLE: Float32Array | undefined;

/** float32 value of every IEEE half bit pattern (exact: every half is a float32). */
export function halfTable(): Float32Array {
  if (HALF_TABLE) return HALF_TABLE;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    t[h] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  HALF_TABLE = t;
  return t;
}

/**
 * The half nearest to the float32 with bit pattern `bits` (ties to even, as a float->half Cast):
 * subnormal halves below 2^-14, +-Infinity beyond 65504 (from 65520 up), NaN kept NaN.
 */
export function halfBitsOf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  // Normal: drop 13 mantissa bits. Subnormal (e <= 0): the implicit bit joins the mantissa, shifted 1 - e more.
  const shift = e > 0 ? 13 : 14 - e;
  if (shift > 24) return sign; // below half the smallest subnormal: rounds to zero
  if (e <= 0) mant |= 0x800000;
  const kept = mant >>> shift;
  const rest = mant & ((1 << shift) - 1);
  const mid = 1 << (shift - 1);
  const rounded = kept + (rest > mid || (rest === mid && (kept & 1) === 1) ? 1 : 0);
  // A carry out of the mantissa moves into the exponent (up to Infinity), which is the right result.
  return sign | ((e > 0 ? e << 10 : 0) + rounded);
}
