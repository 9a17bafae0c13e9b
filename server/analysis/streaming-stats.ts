/**
 * Streaming sufficient statistics for Pearson r of every (metric, layer, position, neuron), in float64,
 * updated per activation batch and mergeable across shards of the sample set.
 *
 * Per layer: count, mean/M2 of every (position, neuron) activation and of the MAX_ACTIVATION aggregate
 * (max over positions), mean/M2 of every metric over the same samples, and the co-moments
 * C[k, p, f] = sum (x - mean_x)(y_k - mean_y). Layers are allocated on their first batch, so a run
 * that streams one layer at a time holds only what it has seen.
 */
import { AnalysisError, expectInt, expectLength } from "./errors.js";
import {
  allocBatchSums, type BatchSums, type ColumnMoments, computeBatchSums, computeLayerBatchSums, mergeBatchSums, mergeMoments, NEURON_BLOCK, type NeuronWindow,
} from "./moment-kernel.js";

/** Dimensions of one run's statistics. */
export interface StatsShape {
  layers: number;
  positions: number;
  /** Neurons per layer (d_ff). */
  neurons: number;
  /** Metric names; metric k is row k of every metric-major array. */
  metrics: string[];
}

/**
 * One layer's sufficient statistics; a plain object of typed arrays (the serialised form too).
 * Means are stored relative to fixed shifts (the first value seen) so large offsets cost no precision:
 * the mean of x is shiftX + meanX.
 */
export interface LayerMoments {
  count: number;
  /** [P * F] */
  shiftX: Float32Array;
  /** [P * F] mean of x - shiftX */
  meanX: Float64Array;
  /** [P * F] */
  m2X: Float64Array;
  /** [M, P * F] */
  cxy: Float64Array;
  /** [M] */
  shiftY: Float64Array;
  /** [M] mean of y - shiftY */
  meanY: Float64Array;
  /** [M] */
  m2Y: Float64Array;
  /** [F], MAX_ACTIVATION aggregate */
  maxShiftX: Float32Array;
  /** [F] */
  maxMeanX: Float64Array;
  /** [F] */
  maxM2X: Float64Array;
  /** [M, F] */
  maxCxy: Float64Array;
}

/** Serialised statistics: plain data, safe to persist and to merge from another process. */
export interface StatsSnapshot {
  format: "skillscope.stats/1";
  shape: StatsShape;
  /** Index = layer; null for a layer that has seen no batch. */
  layers: (LayerMoments | null)[];
}

function emptyLayer(p: number, f: number, m: number): LayerMoments {
  return {
    count: 0,
    shiftX: new Float32Array(p * f), meanX: new Float64Array(p * f), m2X: new Float64Array(p * f), cxy: new Float64Array(m * p * f),
    shiftY: new Float64Array(m), meanY: new Float64Array(m), m2Y: new Float64Array(m),
    maxShiftX: new Float32Array(f), maxMeanX: new Float64Array(f), maxM2X: new Float64Array(f), maxCxy: new Float64Array(m * f),
  };
}

function copyLayer(l: LayerMoments): LayerMoments {
  return {
    count: l.count,
    shiftX: l.shiftX.slice(), meanX: l.meanX.slice(), m2X: l.m2X.slice(), cxy: l.cxy.slice(),
    shiftY: l.shiftY.slice(), meanY: l.meanY.slice(), m2Y: l.m2Y.slice(),
    maxShiftX: l.maxShiftX.slice(), maxMeanX: l.maxMeanX.slice(), maxM2X: l.maxM2X.slice(), maxCxy: l.maxCxy.slice(),
  };
}

/** Pearson r from moments; NaN when either variance is zero or fewer than 2 samples (as scipy). */
function rFromMoments(cxy: number, m2x: number, m2y: number): number {
  const den = Math.sqrt(m2x * m2y);
  if (!(den > 0)) return Number.NaN;
  const r = cxy / den;
  return r > 1 ? 1 : r < -1 ? -1 : r;
}

export class StreamingStats {
  readonly shape: StatsShape;
  private readonly layerMoments: (LayerMoments | null)[];
  /** Batch sums of the full activations and of the max aggregate, allocated on first use. */
  private fullSums: BatchSums | null = null;
  private maxSums: BatchSums | null = null;
  private xmax: Float32Array = new Float32Array(0);
  private readonly rowMax = new Float64Array(NEURON_BLOCK);

  constructor(shape: StatsShape) {
    expectInt("shape.layers", shape.layers, 1);
    expectInt("shape.positions", shape.positions, 1);
    expectInt("shape.neurons", shape.neurons, 1);
    if (shape.metrics.length === 0) throw new AnalysisError("BAD_ARGUMENT", "shape.metrics is empty: give at least one metric");
    if (new Set(shape.metrics).size !== shape.metrics.length) {
      throw new AnalysisError("BAD_ARGUMENT", `shape.metrics has duplicate names: ${shape.metrics.join(", ")}`);
    }
    this.shape = { ...shape, metrics: [...shape.metrics] };
    this.layerMoments = new Array(shape.layers).fill(null);
  }

  /** Index of a metric by name; throws UNKNOWN_METRIC. */
  metricIndex(name: string): number {
    const k = this.shape.metrics.indexOf(name);
    if (k < 0) throw new AnalysisError("UNKNOWN_METRIC", `metric "${name}" is not in these statistics (have: ${this.shape.metrics.join(", ")})`);
    return k;
  }

  /** Samples streamed into `layer` so far. */
  count(layer: number): number {
    this.checkLayer(layer);
    return this.layerMoments[layer]?.count ?? 0;
  }

  /**
   * Streams one batch of one layer.
   * acts: [b, P, F] float32, sample-major; with `window`, [b, P, window.stride] of which these
   * statistics' F neurons are [offset, offset + F) (read in place, no copy).
   * metricValues: [M, b] float64, metric-major, finite.
   * Throws (and changes nothing) on shape mismatch or non-finite values.
   */
  update(layer: number, acts: Float32Array, metricValues: Float64Array, window: NeuronWindow = { stride: this.shape.neurons, offset: 0 }): void {
    this.checkLayer(layer);
    const { positions: p, neurons: f } = this.shape;
    const m = this.shape.metrics.length;
    const cols = p * f;
    expectInt("window.stride", window.stride, f);
    expectInt("window.offset", window.offset, 0, window.stride - f);
    const rowLength = p * window.stride;
    if (acts.length === 0 || acts.length % rowLength !== 0) {
      throw new AnalysisError("SHAPE_MISMATCH", `activations for layer ${layer} have length ${acts.length}, not a multiple of ${window.stride === f ? "P*F" : "P*stride"} = ${rowLength}`);
    }
    const b = acts.length / rowLength;
    expectLength(`metric values for layer ${layer} ([M=${m}, b=${b}])`, metricValues.length, m * b);
    for (let i = 0; i < m * b; i++) {
      if (!Number.isFinite(metricValues[i])) {
        throw new AnalysisError("NON_FINITE", `metric "${this.shape.metrics[Math.floor(i / b)]}" has a non-finite value in this batch of layer ${layer}: drop or impute the sample first`);
      }
    }
    // Sums first, merge after: a batch with NaN or Infinity is rejected before anything changes.
    if (this.xmax.length < b * f) this.xmax = new Float32Array(b * f);
    const fullSums = this.fullSums ?? (this.fullSums = allocBatchSums(cols, m));
    const maxSums = this.maxSums ?? (this.maxSums = allocBatchSums(f, m));
    const yc = new Float64Array(m * b);
    const shiftY = this.layerMoments[layer]?.count ? (this.layerMoments[layer] as LayerMoments).shiftY : Float64Array.from({ length: m }, (_, k) => metricValues[k * b]);
    const meanYB = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      let s = 0;
      for (let i = 0; i < b; i++) s += metricValues[k * b + i] - shiftY[k];
      meanYB[k] = s / b;
      for (let i = 0; i < b; i++) yc[k * b + i] = (metricValues[k * b + i] - shiftY[k]) - meanYB[k];
    }
    const finite = computeLayerBatchSums(acts, b, p, f, yc, m, fullSums, this.xmax, this.rowMax, window)
      && computeBatchSums(this.xmax, b, f, yc, m, maxSums);
    if (!finite) {
      throw new AnalysisError("NON_FINITE", `activations for layer ${layer} contain NaN or Infinity: the batch was rejected`);
    }
    const layerStats = this.layerMoments[layer] ?? (this.layerMoments[layer] = emptyLayer(p, f, m));
    const na = layerStats.count;
    if (na === 0) layerStats.shiftY.set(shiftY);
    const dy = new Float64Array(m);
    for (let k = 0; k < m; k++) dy[k] = meanYB[k] - layerStats.meanY[k];
    const full: ColumnMoments = { shift: layerStats.shiftX, mean: layerStats.meanX, m2: layerStats.m2X, cxy: layerStats.cxy };
    mergeBatchSums(full, cols, na, fullSums, dy, m);
    const agg: ColumnMoments = { shift: layerStats.maxShiftX, mean: layerStats.maxMeanX, m2: layerStats.maxM2X, cxy: layerStats.maxCxy };
    mergeBatchSums(agg, f, na, maxSums, dy, m);
    const n = na + b;
    for (let k = 0; k < m; k++) {
      let m2b = 0;
      for (let i = 0; i < b; i++) m2b += yc[k * b + i] * yc[k * b + i];
      layerStats.meanY[k] += (dy[k] * b) / n;
      layerStats.m2Y[k] += m2b + (dy[k] * dy[k] * na * b) / n;
    }
    layerStats.count = n;
  }

  /** Merges another shard's statistics (same shape, disjoint samples) into this one. */
  merge(other: StreamingStats | StatsSnapshot): void {
    const snap = other instanceof StreamingStats ? other.toSnapshot() : other;
    checkSameShape(this.shape, snap.shape);
    const { positions: p, neurons: f } = this.shape;
    const m = this.shape.metrics.length;
    validateSnapshot(snap);
    for (let l = 0; l < this.shape.layers; l++) {
      const b = snap.layers[l];
      if (!b || b.count === 0) continue;
      const a = this.layerMoments[l];
      if (!a || a.count === 0) {
        this.layerMoments[l] = copyLayer(b);
        continue;
      }
      const na = a.count;
      const nb = b.count;
      const n = na + nb;
      const dy = new Float64Array(m);
      for (let k = 0; k < m; k++) dy[k] = (b.shiftY[k] - a.shiftY[k]) + b.meanY[k] - a.meanY[k];
      mergeMoments({ shift: a.shiftX, mean: a.meanX, m2: a.m2X, cxy: a.cxy }, na, { shift: b.shiftX, mean: b.meanX, m2: b.m2X, cxy: b.cxy }, nb, p * f, m, dy);
      mergeMoments({ shift: a.maxShiftX, mean: a.maxMeanX, m2: a.maxM2X, cxy: a.maxCxy }, na, { shift: b.maxShiftX, mean: b.maxMeanX, m2: b.maxM2X, cxy: b.maxCxy }, nb, f, m, dy);
      for (let k = 0; k < m; k++) {
        a.meanY[k] += (dy[k] * nb) / n;
        a.m2Y[k] += b.m2Y[k] + (dy[k] * dy[k] * na * nb) / n;
      }
      a.count = n;
    }
  }

  /** Pearson r of `metric` with every (position, neuron) of `layer`: [P, F] (NaN where undefined). */
  pearson(layer: number, metric: string): Float64Array {
    const k = this.metricIndex(metric);
    this.checkLayer(layer);
    const cols = this.shape.positions * this.shape.neurons;
    const out = new Float64Array(cols).fill(Number.NaN);
    const l = this.layerMoments[layer];
    if (!l || l.count < 2) return out;
    for (let j = 0; j < cols; j++) out[j] = rFromMoments(l.cxy[k * cols + j], l.m2X[j], l.m2Y[k]);
    return out;
  }

  /** Pearson r of `metric` with the MAX_ACTIVATION aggregate (max over positions) of `layer`: [F]. */
  pearsonMaxActivation(layer: number, metric: string): Float64Array {
    const k = this.metricIndex(metric);
    this.checkLayer(layer);
    const f = this.shape.neurons;
    const out = new Float64Array(f).fill(Number.NaN);
    const l = this.layerMoments[layer];
    if (!l || l.count < 2) return out;
    for (let j = 0; j < f; j++) out[j] = rFromMoments(l.maxCxy[k * f + j], l.maxM2X[j], l.m2Y[k]);
    return out;
  }

  /** Per-(position, neuron) mean and population variance of `layer`'s activations: [P, F] each. */
  activationMoments(layer: number): { mean: Float64Array; variance: Float64Array; count: number } {
    this.checkLayer(layer);
    const cols = this.shape.positions * this.shape.neurons;
    const l = this.layerMoments[layer];
    if (!l || l.count === 0) return { mean: new Float64Array(cols).fill(Number.NaN), variance: new Float64Array(cols).fill(Number.NaN), count: 0 };
    const variance = new Float64Array(cols);
    const mean = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      variance[j] = l.m2X[j] / l.count;
      mean[j] = l.shiftX[j] + l.meanX[j];
    }
    return { mean, variance, count: l.count };
  }

  /** A deep copy as plain typed arrays. */
  toSnapshot(): StatsSnapshot {
    return {
      format: "skillscope.stats/1",
      shape: { ...this.shape, metrics: [...this.shape.metrics] },
      layers: this.layerMoments.map((l) => (l ? copyLayer(l) : null)),
    };
  }

  /** Rebuilds statistics from a snapshot; throws BAD_SNAPSHOT naming the wrong field. */
  static fromSnapshot(snap: StatsSnapshot): StreamingStats {
    if (snap?.format !== "skillscope.stats/1") {
      throw new AnalysisError("BAD_SNAPSHOT", `statistics snapshot has format ${String(snap?.format)}, expected "skillscope.stats/1"`);
    }
    const stats = new StreamingStats(snap.shape);
    validateSnapshot(snap);
    snap.layers.forEach((l, i) => { stats.layerMoments[i] = l ? copyLayer(l) : null; });
    return stats;
  }

  private checkLayer(layer: number): void {
    expectInt("layer", layer, 0, this.shape.layers - 1);
  }


}

function checkSameShape(a: StatsShape, b: StatsShape): void {
  const same = a.layers === b.layers && a.positions === b.positions && a.neurons === b.neurons
    && a.metrics.length === b.metrics.length && a.metrics.every((m, i) => m === b.metrics[i]);
  if (!same) {
    throw new AnalysisError("SHAPE_MISMATCH", `cannot merge statistics of shape ${JSON.stringify(b)} into ${JSON.stringify(a)}`);
  }
}

function validateSnapshot(snap: StatsSnapshot): void {
  const { layers, positions: p, neurons: f, metrics } = snap.shape;
  const m = metrics.length;
  expectLength("snapshot.layers", snap.layers.length, layers);
  snap.layers.forEach((l, i) => {
    if (!l) return;
    expectInt(`snapshot.layers[${i}].count`, l.count, 0);
    const want: [keyof LayerMoments, number, typeof Float64Array | typeof Float32Array][] = [
      ["shiftX", p * f, Float32Array], ["meanX", p * f, Float64Array], ["m2X", p * f, Float64Array], ["cxy", m * p * f, Float64Array],
      ["shiftY", m, Float64Array], ["meanY", m, Float64Array], ["m2Y", m, Float64Array],
      ["maxShiftX", f, Float32Array], ["maxMeanX", f, Float64Array], ["maxM2X", f, Float64Array], ["maxCxy", m * f, Float64Array],
    ];
    for (const [key, len, type] of want) {
      const arr = l[key];
      if (!(arr instanceof type)) throw new AnalysisError("BAD_SNAPSHOT", `snapshot.layers[${i}].${key} is not a ${type.name}`);
      expectLength(`snapshot.layers[${i}].${key}`, arr.length, len);
    }
  });
}

/** Gathers metric values for a batch: tables[k][sampleIndex[i]] -> out[k * b + i] ([M, b]). */
export function gatherMetricValues(tables: ArrayLike<number>[], sampleIndices: ArrayLike<number>): Float64Array {
  const b = sampleIndices.length;
  const out = new Float64Array(tables.length * b);
  tables.forEach((t, k) => {
    for (let i = 0; i < b; i++) {
      const s = sampleIndices[i];
      if (!(s >= 0 && s < t.length)) throw new AnalysisError("BAD_ARGUMENT", `sample index ${s} is outside metric table ${k} (length ${t.length})`);
      out[k * b + i] = t[s];
    }
  });
  return out;
}
