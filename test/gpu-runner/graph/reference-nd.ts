/** Plain-JS float64 n-d arrays: the independent oracle for the graph ops' forward values. */

export class Nd {
  constructor(
    readonly shape: readonly number[],
    readonly data: Float64Array,
  ) {
    if (data.length !== size(shape)) throw new Error(`Nd: ${data.length} values for shape [${shape}]`);
  }
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/** Flat offset of a (right-aligned, broadcast) index into an array of `shape`. */
function offsetOf(idx: readonly number[], shape: readonly number[]): number {
  const st = strides(shape);
  const lead = idx.length - shape.length;
  let off = 0;
  for (let i = 0; i < shape.length; i++) off += (shape[i] === 1 ? 0 : idx[lead + i]) * st[i];
  return off;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const da = a[i - (r - a.length)] ?? 1;
    const db = b[i - (r - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`no broadcast [${a}] [${b}]`);
    return da === 1 ? db : da;
  });
}

export function zip(a: Nd, b: Nd, f: (x: number, y: number) => number): Nd {
  const shape = broadcastShape(a.shape, b.shape);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f(a.data[offsetOf(idx, a.shape)], b.data[offsetOf(idx, b.shape)]);
  }
  return new Nd(shape, out);
}

export function zip3(c: Nd, a: Nd, b: Nd, f: (c: number, x: number, y: number) => number): Nd {
  const shape = broadcastShape(c.shape, broadcastShape(a.shape, b.shape));
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f(c.data[offsetOf(idx, c.shape)], a.data[offsetOf(idx, a.shape)], b.data[offsetOf(idx, b.shape)]);
  }
  return new Nd(shape, out);
}

export function map(a: Nd, f: (x: number) => number): Nd {
  return new Nd(a.shape, a.data.map(f));
}

export function reshapeNd(a: Nd, shape: readonly number[]): Nd {
  return new Nd(shape, a.data);
}

export function transposeNd(a: Nd, perm: readonly number[]): Nd {
  const shape = perm.map((p) => a.shape[p]);
  const st = strides(a.shape);
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let off = 0;
    perm.forEach((p, k) => (off += idx[k] * st[p]));
    out[i] = a.data[off];
  }
  return new Nd(shape, out);
}

/** Batched matmul with numpy broadcasting of the batch axes. */
export function matmulNd(a: Nd, b: Nd): Nd {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = new Float64Array(size(batch) * m * n);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  for (let bi = 0; bi < size(batch); bi++) {
    const idx = unravel(bi, batch);
    const ao = offsetOf(idx, aBatch) * m * k;
    const bo = offsetOf(idx, bBatch) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a.data[ao + i * k + q] * b.data[bo + q * n + j];
        out[bi * m * n + i * n + j] = s;
      }
  }
  return new Nd([...batch, m, n], out);
}

/** Sum or mean over axes. */
export function reduceNd(a: Nd, axes: readonly number[], keep: boolean, mean: boolean): Nd {
  const norm = axes.map((x) => (x < 0 ? x + a.shape.length : x));
  const keptShape = a.shape.map((d, i) => (norm.includes(i) ? 1 : d));
  const out = new Float64Array(size(keptShape));
  const count = norm.reduce((p, ax) => p * a.shape[ax], 1);
  for (let i = 0; i < a.data.length; i++) {
    const idx = unravel(i, a.shape).map((v, d) => (norm.includes(d) ? 0 : v));
    out[offsetOf(idx, keptShape)] += a.data[i] / (mean ? count : 1);
  }
  return new Nd(keep ? keptShape : a.shape.filter((_, i) => !norm.includes(i)), out);
}

/** Applies f to every row of the last axis. */
export function rows(a: Nd, f: (row: number[]) => number[]): Nd {
  const d = a.shape[a.shape.length - 1];
  const out = new Float64Array(a.data.length);
  for (let r = 0; r < a.data.length / d; r++) out.set(f(Array.from(a.data.subarray(r * d, (r + 1) * d))), r * d);
  return new Nd(a.shape, out);
}

export function sliceNd(a: Nd, axis: number, start: number, end: number): Nd {
  const shape = a.shape.map((d, i) => (i === axis ? end - start : d));
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    idx[axis] += start;
    out[i] = a.data[offsetOf(idx, a.shape)];
  }
  return new Nd(shape, out);
}

export function concatNd(xs: readonly Nd[], axis: number): Nd {
  const total = xs.reduce((p, x) => p + x.shape[axis], 0);
  const shape = xs[0].shape.map((d, i) => (i === axis ? total : d));
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let k = 0;
    while (idx[axis] >= xs[k].shape[axis]) idx[axis] -= xs[k++].shape[axis];
    out[i] = xs[k].data[offsetOf(idx, xs[k].shape)];
  }
  return new Nd(shape, out);
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
