/**
 * Per-neuron top/bottom-k reservoirs for the `top-k` storage mode: bounded memory instead of full
 * activations. For each layer and each slot (every position, then the max over positions when asked
 * for), every neuron keeps its k highest and k lowest activations with their sample indices.
 * Ordering: higher value first; equal values keep the lower sample index (deterministic under merge).
 */
import { AnalysisError, expectInt, expectLength } from "./errors.js";

export interface ReservoirShape {
  layers: number;
  positions: number;
  neurons: number;
  k: number;
  /** Keep a reservoir per position (default true). */
  perPosition?: boolean;
  /** Keep a reservoir of the max over positions (default true). */
  maxOverPositions?: boolean;
}

/** A layer's reservoirs, flat: slot-major, then neuron, then heap entry ([S, F, k]). */
export interface LayerReservoirs {
  /** Filled entries per (slot, neuron) heap ([S, F]); the same for high and low. */
  size: Int32Array;
  highValue: Float32Array;
  highSample: Int32Array;
  /** Stores the negated value so both sides are "keep the largest" heaps. */
  lowNegValue: Float32Array;
  lowSample: Int32Array;
}

export interface ReservoirSnapshot {
  format: "skillscope.reservoirs/1";
  shape: Required<ReservoirShape>;
  layers: (LayerReservoirs | null)[];
}

/** (va, sa) ranks below (vb, sb). */
function worse(va: number, sa: number, vb: number, sb: number): boolean {
  return va < vb || (va === vb && sa > sb);
}

/** Offers (v, s) to the min-heap at [base, base + k) holding `n` entries; returns the new size. */
function offer(values: Float32Array, samples: Int32Array, base: number, n: number, k: number, v: number, s: number): number {
  if (n < k) {
    let i = n;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!worse(v, s, values[base + p], samples[base + p])) break;
      values[base + i] = values[base + p];
      samples[base + i] = samples[base + p];
      i = p;
    }
    values[base + i] = v;
    samples[base + i] = s;
    return n + 1;
  }
  if (!worse(values[base], samples[base], v, s)) return n;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let c = l;
    if (l + 1 < n && worse(values[base + l + 1], samples[base + l + 1], values[base + l], samples[base + l])) c = l + 1;
    if (!worse(values[base + c], samples[base + c], v, s)) break;
    values[base + i] = values[base + c];
    samples[base + i] = samples[base + c];
    i = c;
  }
  values[base + i] = v;
  samples[base + i] = s;
  return n;
}

export class ReservoirSet {
  readonly shape: Required<ReservoirShape>;
  readonly slots: number;
  private readonly layerData: (LayerReservoirs | null)[];

  constructor(shape: ReservoirShape) {
    expectInt("shape.layers", shape.layers, 1);
    expectInt("shape.positions", shape.positions, 1);
    expectInt("shape.neurons", shape.neurons, 1);
    expectInt("shape.k", shape.k, 1);
    this.shape = { perPosition: true, maxOverPositions: true, ...shape };
    this.slots = (this.shape.perPosition ? shape.positions : 0) + (this.shape.maxOverPositions ? 1 : 0);
    if (this.slots === 0) throw new AnalysisError("BAD_ARGUMENT", "reservoirs need perPosition or maxOverPositions");
    this.layerData = new Array(shape.layers).fill(null);
  }

  /** Slot index of a position, or of "max". */
  slotOf(position: number | "max"): number {
    if (position === "max") {
      if (!this.shape.maxOverPositions) throw new AnalysisError("BAD_ARGUMENT", "these reservoirs keep no max-over-positions slot");
      return this.shape.perPosition ? this.shape.positions : 0;
    }
    if (!this.shape.perPosition) throw new AnalysisError("BAD_ARGUMENT", "these reservoirs keep no per-position slots");
    expectInt("position", position, 0, this.shape.positions - 1);
    return position;
  }

  /** Streams a batch acts [b, P, F] of `layer` with its sample indices [b]; rejects NaN (changes nothing). */
  update(layer: number, acts: Float32Array, sampleIndices: ArrayLike<number>): void {
    expectInt("layer", layer, 0, this.shape.layers - 1);
    const { positions: p, neurons: f } = this.shape;
    const b = sampleIndices.length;
    expectLength(`activations of layer ${layer} ([b=${b}, P=${p}, F=${f}])`, acts.length, b * p * f);
    for (let i = 0; i < acts.length; i++) {
      if (Number.isNaN(acts[i])) throw new AnalysisError("NON_FINITE", `activations of layer ${layer} contain NaN: the batch was rejected`);
    }
    for (let i = 0; i < b; i++) expectInt(`sampleIndices[${i}]`, sampleIndices[i], 0, 0x7fffffff);
    const d = this.layer(layer);
    const maxSlot = this.shape.maxOverPositions ? this.slotOf("max") : -1;
    for (let s = 0; s < b; s++) {
      const sample = sampleIndices[s];
      const row = s * p * f;
      if (this.shape.perPosition) {
        for (let q = 0; q < p; q++) this.offerRow(d, q, acts, row + q * f, sample);
      }
      if (maxSlot >= 0) this.offerMaxRow(d, maxSlot, acts, row, sample);
    }
  }

  /** Merges another set of the same shape (samples of other shards). */
  merge(other: ReservoirSet | ReservoirSnapshot): void {
    const snap = other instanceof ReservoirSet ? other.toSnapshot() : other;
    const a = this.shape;
    const b = snap.shape;
    if (a.layers !== b.layers || a.positions !== b.positions || a.neurons !== b.neurons || a.k !== b.k
      || a.perPosition !== b.perPosition || a.maxOverPositions !== b.maxOverPositions) {
      throw new AnalysisError("SHAPE_MISMATCH", `cannot merge reservoirs of shape ${JSON.stringify(b)} into ${JSON.stringify(a)}`);
    }
    const k = a.k;
    snap.layers.forEach((src, l) => {
      if (!src) return;
      const dst = this.layer(l);
      for (let h = 0; h < this.slots * a.neurons; h++) {
        const base = h * k;
        for (let e = 0; e < src.size[h]; e++) {
          const n = dst.size[h];
          offer(dst.highValue, dst.highSample, base, n, k, src.highValue[base + e], src.highSample[base + e]);
          dst.size[h] = offer(dst.lowNegValue, dst.lowSample, base, n, k, src.lowNegValue[base + e], src.lowSample[base + e]);
        }
      }
    });
  }

  /** Highest and lowest activations of one neuron, best first (lowest: ascending values). */
  extremes(layer: number, position: number | "max", neuron: number): {
    highest: { sample: number; value: number }[]; lowest: { sample: number; value: number }[];
  } {
    expectInt("layer", layer, 0, this.shape.layers - 1);
    expectInt("neuron", neuron, 0, this.shape.neurons - 1);
    const slot = this.slotOf(position);
    const d = this.layerData[layer];
    if (!d) return { highest: [], lowest: [] };
    const h = slot * this.shape.neurons + neuron;
    const base = h * this.shape.k;
    const highest: { sample: number; value: number }[] = [];
    const lowest: { sample: number; value: number }[] = [];
    for (let e = 0; e < d.size[h]; e++) {
      highest.push({ sample: d.highSample[base + e], value: d.highValue[base + e] });
      lowest.push({ sample: d.lowSample[base + e], value: -d.lowNegValue[base + e] });
    }
    highest.sort((x, y) => y.value - x.value || x.sample - y.sample);
    lowest.sort((x, y) => x.value - y.value || x.sample - y.sample);
    return { highest, lowest };
  }

  /** Deep copy as plain typed arrays. */
  toSnapshot(): ReservoirSnapshot {
    return {
      format: "skillscope.reservoirs/1",
      shape: { ...this.shape },
      layers: this.layerData.map((d) => d && {
        size: d.size.slice(), highValue: d.highValue.slice(), highSample: d.highSample.slice(),
        lowNegValue: d.lowNegValue.slice(), lowSample: d.lowSample.slice(),
      }),
    };
  }

  static fromSnapshot(snap: ReservoirSnapshot): ReservoirSet {
    if (snap?.format !== "skillscope.reservoirs/1") {
      throw new AnalysisError("BAD_SNAPSHOT", `reservoir snapshot has format ${String(snap?.format)}, expected "skillscope.reservoirs/1"`);
    }
    const set = new ReservoirSet(snap.shape);
    expectLength("snapshot.layers", snap.layers.length, snap.shape.layers);
    const heaps = set.slots * snap.shape.neurons;
    snap.layers.forEach((d, l) => {
      if (!d) return;
      expectLength(`snapshot.layers[${l}].size`, d.size.length, heaps);
      for (const key of ["highValue", "highSample", "lowNegValue", "lowSample"] as const) {
        expectLength(`snapshot.layers[${l}].${key}`, d[key].length, heaps * snap.shape.k);
      }
    });
    set.layerData.splice(0, set.layerData.length, ...snap.layers.map((d) => d && {
      size: d.size.slice(), highValue: d.highValue.slice(), highSample: d.highSample.slice(),
      lowNegValue: d.lowNegValue.slice(), lowSample: d.lowSample.slice(),
    }));
    return set;
  }

  private layer(l: number): LayerReservoirs {
    const existing = this.layerData[l];
    if (existing) return existing;
    const heaps = this.slots * this.shape.neurons;
    const entries = heaps * this.shape.k;
    const d: LayerReservoirs = {
      size: new Int32Array(heaps),
      highValue: new Float32Array(entries), highSample: new Int32Array(entries),
      lowNegValue: new Float32Array(entries), lowSample: new Int32Array(entries),
    };
    this.layerData[l] = d;
    return d;
  }

  /** Offers acts[off + j] for every neuron j into slot `slot`. */
  private offerRow(d: LayerReservoirs, slot: number, acts: Float32Array, off: number, sample: number): void {
    const { neurons: f, k } = this.shape;
    for (let j = 0; j < f; j++) this.offerOne(d, slot * f + j, k, acts[off + j], sample);
  }

  private offerMaxRow(d: LayerReservoirs, slot: number, acts: Float32Array, row: number, sample: number): void {
    const { neurons: f, positions: p, k } = this.shape;
    for (let j = 0; j < f; j++) {
      let v = acts[row + j];
      for (let q = 1; q < p; q++) { const w = acts[row + q * f + j]; if (w > v) v = w; }
      this.offerOne(d, slot * f + j, k, v, sample);
    }
  }

  private offerOne(d: LayerReservoirs, h: number, k: number, v: number, sample: number): void {
    const base = h * k;
    const n = d.size[h];
    // Fast reject against each heap's root: most values are neither among the k highest nor lowest.
    if (n === k && v < d.highValue[base] && -v < d.lowNegValue[base]) return;
    offer(d.highValue, d.highSample, base, n, k, v, sample);
    d.size[h] = offer(d.lowNegValue, d.lowSample, base, n, k, -v, sample);
  }
}
