/**
 * The hot path: shifted single-pass moments of a column block, and the Chan et al. pairwise merge.
 *
 * Columns are processed in blocks so that the per-column accumulators of a block stay in cache while
 * every row streams through once. Values are shifted by the block's first row before accumulating, so
 * data with mean 1e4 and variance 1e-4 keeps full float64 precision (no E[x^2] - E[x]^2 cancellation).
 */

/** Columns per cache block: (3 + M) Float64 accumulators of this width fit in L2 for small M. */
export const COLUMN_BLOCK = 1024;

/**
 * Raw shifted sums for columns [c0, c1) over `rows` rows of `x` ([rows, cols], row-major), written at
 * offset `o` of the accumulators: for c in [0, c1 - c0), with d = x[s, c0 + c] - x[0, c0 + c],
 * x0[o + c] = x[0, c0 + c], sx[o + c] = sum d, sxx[o + c] = sum d^2,
 * cxy[k * cxyStride + o + c] = sum yc[k, s] d. yc: [m, rows], metric values centred over these rows.
 * Rows are taken eight at a time, which cuts the accumulator traffic (measured ~4x over one row).
 */
export function shiftedBlockSums(
  x: Float32Array, rows: number, cols: number, c0: number, c1: number, yc: Float64Array, m: number,
  acc: BlockScratch, o: number, cxyStride: number,
): void {
  const { x0, sx, sxx, cxy } = acc;
  const width = c1 - c0;
  const xo = c0 - o;
  for (let c = o; c < o + width; c++) {
    x0[c] = x[xo + c];
    sx[c] = 0;
    sxx[c] = 0;
  }
  for (let k = 0; k < m; k++) cxy.fill(0, k * cxyStride + o, k * cxyStride + o + width);
  // Row 0 contributes d = 0; including it keeps batches of 8k rows free of a tail.
  let s = 0;
  for (; s + 7 < rows; s += 8) {
    const r0 = s * cols + xo;
    const r1 = r0 + cols, r2 = r1 + cols, r3 = r2 + cols, r4 = r3 + cols, r5 = r4 + cols, r6 = r5 + cols, r7 = r6 + cols;
    const w0 = yc[s], w1 = yc[s + 1], w2 = yc[s + 2], w3 = yc[s + 3];
    const w4 = yc[s + 4], w5 = yc[s + 5], w6 = yc[s + 6], w7 = yc[s + 7];
    for (let c = o; c < o + width; c++) {
      const b = x0[c];
      const d0 = x[r0 + c] - b, d1 = x[r1 + c] - b, d2 = x[r2 + c] - b, d3 = x[r3 + c] - b;
      const d4 = x[r4 + c] - b, d5 = x[r5 + c] - b, d6 = x[r6 + c] - b, d7 = x[r7 + c] - b;
      sx[c] += ((d0 + d1) + (d2 + d3)) + ((d4 + d5) + (d6 + d7));
      sxx[c] += ((d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)) + ((d4 * d4 + d5 * d5) + (d6 * d6 + d7 * d7));
      cxy[c] += ((w0 * d0 + w1 * d1) + (w2 * d2 + w3 * d3)) + ((w4 * d4 + w5 * d5) + (w6 * d6 + w7 * d7));
    }
    for (let k = 1; k < m; k++) {
      const v = k * rows + s;
      const v0 = yc[v], v1 = yc[v + 1], v2 = yc[v + 2], v3 = yc[v + 3];
      const v4 = yc[v + 4], v5 = yc[v + 5], v6 = yc[v + 6], v7 = yc[v + 7];
      const base = k * cxyStride;
      for (let c = o; c < o + width; c++) {
        const b = x0[c];
        cxy[base + c] += ((v0 * (x[r0 + c] - b) + v1 * (x[r1 + c] - b)) + (v2 * (x[r2 + c] - b) + v3 * (x[r3 + c] - b)))
          + ((v4 * (x[r4 + c] - b) + v5 * (x[r5 + c] - b)) + (v6 * (x[r6 + c] - b) + v7 * (x[r7 + c] - b)));
      }
    }
  }
  for (; s < rows; s++) {
    const row = s * cols + xo;
    for (let c = o; c < o + width; c++) {
      const d = x[row + c] - x0[c];
      sx[c] += d;
      sxx[c] += d * d;
    }
    for (let k = 0; k < m; k++) {
      const w = yc[k * rows + s];
      const base = k * cxyStride;
      for (let c = o; c < o + width; c++) cxy[base + c] += w * (x[row + c] - x0[c]);
    }
  }
}

/**
 * Running per-column moments. shift[c] is a fixed per-column reference (the first value seen), and
 * mean[c] is the mean of x - shift[c]: every stored quantity is then of the data's own scale, so a
 * mean of 1e4 costs no precision. m2[c] = sum (x - mean)^2, cxy[k * cols + c] = co-moment with metric k.
 */
export interface ColumnMoments {
  shift: Float32Array;
  mean: Float64Array;
  m2: Float64Array;
  cxy: Float64Array;
}

/** A batch's raw shifted sums over all columns (see shiftedBlockSums), before merging. */
export interface BatchSums {
  rows: number;
  /** [cols] the batch's first row: the shift of sx, sxx, cxy */
  x0: Float64Array;
  sx: Float64Array;
  sxx: Float64Array;
  /** [m, cols] */
  cxy: Float64Array;
  /** [cols] scratch for the merge: batch mean - running mean */
  dx: Float64Array;
}

/** Allocates batch sums for `cols` columns and `m` metrics (reuse across batches). */
export function allocBatchSums(cols: number, m: number): BatchSums {
  return {
    rows: 0, x0: new Float64Array(cols), sx: new Float64Array(cols), sxx: new Float64Array(cols),
    cxy: new Float64Array(cols * m), dx: new Float64Array(cols),
  };
}

/**
 * Neurons per block of the fused pass (the max over positions reads a block again right after its
 * sums). Measured on a Xeon with 2 MiB L2, 64 rows x 20 positions x 4096 neurons, per CPU-second:
 * 128 -> ~230 M values, 512 -> ~330 M, 1024 -> ~335 M: long inner loops matter more than keeping the
 * block (64 x 20 x 512 floats, 2.6 MB) in L2.
 */
export const NEURON_BLOCK = 512;

/**
 * Where F neurons lie in wider activation rows: acts [rows, P, stride], the neurons [offset, offset + F)
 * of each position (a worker's share of a layer, read in place).
 */
export interface NeuronWindow {
  stride: number;
  offset: number;
}

/**
 * Computes a batch's sums of the window's neurons of acts [rows, P, window.stride] into `out`
 * ([P * F] columns) and, while each block of neurons is still in cache, xmax[s, f] = max_p of them
 * ([rows, F]); one pass over memory. yc: [m, rows] batch-centred metrics. rowMax: scratch of NEURON_BLOCK.
 * Returns false when any value is NaN or infinite (the sums are then not finite), so a caller can
 * reject the batch before merging anything.
 */
export function computeLayerBatchSums(
  acts: Float32Array, rows: number, p: number, f: number, yc: Float64Array, m: number,
  out: BatchSums, xmax: Float32Array, rowMax: Float64Array, window: NeuronWindow = { stride: f, offset: 0 },
): boolean {
  const cols = p * f;
  const { stride, offset } = window;
  const rowLength = p * stride;
  out.rows = rows;
  for (let f0 = 0; f0 < f; f0 += NEURON_BLOCK) {
    const f1 = Math.min(f, f0 + NEURON_BLOCK);
    const width = f1 - f0;
    for (let q = 0; q < p; q++) shiftedBlockSums(acts, rows, rowLength, q * stride + offset + f0, q * stride + offset + f1, yc, m, out, q * f + f0, cols);
    for (let s = 0; s < rows; s++) {
      const base = s * rowLength + offset + f0;
      // Four positions per sweep, branch-free max (see max2): ~4x faster than Math.max on real data.
      let q = 0;
      if (p >= 4) {
        const r0 = base, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
        for (let j = 0; j < width; j++) rowMax[j] = max2(max2(acts[r0 + j], acts[r1 + j]), max2(acts[r2 + j], acts[r3 + j]));
        q = 4;
      } else {
        for (let j = 0; j < width; j++) rowMax[j] = acts[base + j];
        q = 1;
      }
      for (; q + 3 < p; q += 4) {
        const r0 = base + q * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
        for (let j = 0; j < width; j++) {
          const m01 = max2(acts[r0 + j], acts[r1 + j]);
          const m23 = max2(acts[r2 + j], acts[r3 + j]);
          rowMax[j] = max2(rowMax[j], max2(m01, m23));
        }
      }
      for (; q < p; q++) {
        const row = base + q * stride;
        for (let j = 0; j < width; j++) rowMax[j] = max2(rowMax[j], acts[row + j]);
      }
      xmax.set(rowMax.subarray(0, width), s * f + f0);
    }
  }
  return allFinite(out.sxx, out.x0, cols);
}

/** Computes a batch's sums of x [rows, cols] into `out` (see computeLayerBatchSums for the contract). */
export function computeBatchSums(x: Float32Array, rows: number, cols: number, yc: Float64Array, m: number, out: BatchSums): boolean {
  out.rows = rows;
  for (let c0 = 0; c0 < cols; c0 += COLUMN_BLOCK) shiftedBlockSums(x, rows, cols, c0, Math.min(cols, c0 + COLUMN_BLOCK), yc, m, out, c0, cols);
  return allFinite(out.sxx, out.x0, cols);
}

/**
 * max(a, b) without a branch (Math.max mispredicts on activation data: measured ~4x slower).
 * Absolute error <= ~4 float64 ulps of max(|a|, |b|); once stored as float32 the result is exactly the
 * larger input whenever the inputs' magnitudes are within ~2^24 of each other (tested), i.e. for any
 * realistic activation row; beyond that it is off by far less than the data's own float32 resolution.
 * NaN propagates (and is then rejected by the finiteness check).
 */
function max2(a: number, b: number): number {
  return 0.5 * (a + b + Math.abs(a - b));
}

/** NaN or Infinity anywhere in a batch makes sxx (rows >= 1) or x0 (row 0) non-finite. */
function allFinite(sxx: Float64Array, x0: Float64Array, n: number): boolean {
  let probe = 0;
  for (let c = 0; c < n; c++) probe += sxx[c] * 0 + x0[c] * 0;
  return probe === 0;
}

/**
 * Merges batch sums into `acc`, which holds `countBefore` samples so far (shifts set on the first batch).
 * dy[k] = batch mean of metric k - running mean before.
 * Chan et al.: M2 = M2a + M2b + dx^2 na nb / n; C = Ca + Cb + dx dy na nb / n.
 */
export function mergeBatchSums(acc: ColumnMoments, cols: number, countBefore: number, batch: BatchSums, dy: Float64Array, m: number): void {
  const na = countBefore;
  const nb = batch.rows;
  const n = na + nb;
  const w = (na * nb) / n;
  const fb = nb / n;
  const { x0, sx, sxx, cxy, dx } = batch;
  if (na === 0) for (let j = 0; j < cols; j++) acc.shift[j] = x0[j];
  for (let j = 0; j < cols; j++) {
    const meanB = (x0[j] - acc.shift[j]) + sx[j] / nb;
    const m2B = Math.max(0, sxx[j] - (sx[j] * sx[j]) / nb);
    const d = meanB - acc.mean[j];
    dx[j] = d;
    acc.mean[j] += d * fb;
    acc.m2[j] += m2B + d * d * w;
  }
  for (let k = 0; k < m; k++) {
    const base = k * cols;
    const dw = dy[k] * w;
    for (let j = 0; j < cols; j++) acc.cxy[base + j] += cxy[base + j] + dx[j] * dw;
  }
}

/** Merges moments `b` (nb samples) into `a` (na > 0 samples), column-wise, in place. */
export function mergeMoments(
  a: ColumnMoments, na: number, b: ColumnMoments, nb: number, cols: number, m: number, dy: Float64Array,
): void {
  const n = na + nb;
  if (nb === 0) return;
  const w = (na * nb) / n;
  const fb = nb / n;
  for (let j = 0; j < cols; j++) {
    const dx = (b.shift[j] - a.shift[j]) + b.mean[j] - a.mean[j];
    a.mean[j] += dx * fb;
    a.m2[j] += b.m2[j] + dx * dx * w;
    for (let k = 0; k < m; k++) a.cxy[k * cols + j] += b.cxy[k * cols + j] + dx * dy[k] * w;
  }
}

/** Accumulators that shiftedBlockSums writes into. */
export interface BlockScratch { sx: Float64Array; sxx: Float64Array; cxy: Float64Array; x0: Float64Array }

/** Allocates block scratch for `m` metrics. */
export function blockScratch(m: number): BlockScratch {
  return {
    x0: new Float64Array(COLUMN_BLOCK),
    sx: new Float64Array(COLUMN_BLOCK),
    sxx: new Float64Array(COLUMN_BLOCK),
    cxy: new Float64Array(COLUMN_BLOCK * Math.max(1, m)),
  };
}
