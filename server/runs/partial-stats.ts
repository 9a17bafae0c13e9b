/**
 * The statistics of one share of a run's validation set, updated batch by batch: per-sample outputs,
 * the metric tables, streaming co-moments and (storage "topk") reservoirs. Partials of disjoint shards
 * merge exactly (pairwise co-moment update, reservoirs by value), so a run extracted by N runners
 * scores like one runner. The server keeps one for a whole run; a shard runner keeps one for its shard
 * and sends `toPartial()` (plain typed arrays, codec-framable) when it is done.
 */
import type { ActivationsEvent, SamplesEvent } from "../../gpu-runner/runner/protocol.js";
import { gatherMetricValues, ReservoirSet, StreamingStats, type ReservoirSnapshot, type StatsSnapshot } from "../analysis/index.js";
import { computeMetric, listMetrics, type MetricContext, type MetricInfo, type SampleOutput } from "../metrics/index.js";
import type { RunStorage } from "./run-options.js";
import type { MetricRow } from "./samples.js";

/** Per-sample outputs of several batches, concatenated (the `samples` event's arrays). */
export type SampleBatch = Pick<
  SamplesEvent, "sampleIdx" | "loss" | "goldProb" | "confidence" | "contentToken" | "contentLoss" | "contentConfidence" | "prediction" | "correct"
>;

/** What a shard runner hands back: everything the server needs to score, nothing per activation. */
export interface ShardPartial {
  readonly outputs: SampleBatch;
  readonly stats: StatsSnapshot | null;
  readonly reservoirs: ReservoirSnapshot | null;
  /** Metrics that had a missing value in this shard (placeholder zeros in the co-moments). */
  readonly incomplete: readonly string[];
  /** Tapped layers, positions and d_ff (null before the first activation batch). */
  readonly shape: { readonly positions: number; readonly dFF: number; readonly layers: readonly number[] } | null;
}

export type PartialContext = MetricContext & { rows: readonly MetricRow[] };

export class PartialStats {
  readonly metrics: MetricInfo[];
  /** metric name -> [N val rows]; output metrics fill in per batch (NaN until then). */
  readonly tables = new Map<string, Float64Array>();
  readonly outputs = new Map<number, SampleOutput>();
  /** Metrics that had a missing value somewhere: scored from stored activations at the end. */
  readonly incomplete = new Set<string>();
  stats: StreamingStats | null = null;
  /** Storage "topk" only: the reservoirs that stand in for stored activations. */
  reservoirs: ReservoirSet | null = null;
  shape: { positions: number; dFF: number; layers: number[] } | null = null;

  constructor(private readonly ctx: PartialContext, private readonly storage: RunStorage, metricNames?: readonly string[]) {
    const all = listMetrics(ctx);
    this.metrics = metricNames?.length ? metricNames.map((n) => all.find((m) => m.name === n) ?? unknownMetric(n, all)) : all;
    for (const m of this.metrics) {
      this.tables.set(m.name, m.needsOutputs ? new Float64Array(ctx.rows.length).fill(Number.NaN) : computeMetric(ctx, m.name));
    }
  }

  get metricNames(): string[] {
    return this.metrics.map((m) => m.name);
  }

  /** Records a batch's outputs and fills the output metrics of its samples. */
  observeSamples(ev: SampleBatch): void {
    const rows = Array.from(ev.sampleIdx, (i) => this.ctx.rows[i]);
    const outs: SampleOutput[] = Array.from(ev.sampleIdx, (_, r) => ({
      loss: ev.loss[r], goldProb: ev.goldProb[r], confidence: ev.confidence[r], prediction: ev.prediction[r], correct: ev.correct[r] === 1,
      ...(ev.contentToken && ev.contentLoss && ev.contentConfidence
        ? { contentToken: ev.contentToken[r], contentLoss: ev.contentLoss[r], contentConfidence: ev.contentConfidence[r] }
        : {}),
    }));
    ev.sampleIdx.forEach((i, r) => this.outputs.set(i, outs[r]));
    // output metrics are per-sample functions, so a batch-sized context gives the same values
    const batchCtx: MetricContext = { ...this.ctx, rows, outputs: outs };
    for (const m of this.metrics) {
      if (!m.needsOutputs) continue;
      const v = computeMetric(batchCtx, m.name);
      const table = this.tables.get(m.name)!;
      ev.sampleIdx.forEach((i, r) => (table[i] = v[r]));
    }
  }

  /** Adds one activation batch (its samples' outputs observed before) to the co-moments or reservoirs. */
  observeActivations(ev: Pick<ActivationsEvent, "layer" | "sampleIdx" | "nPositions" | "dFF" | "data">, nLayers: number): void {
    if (!this.stats) {
      this.shape = { positions: ev.nPositions, dFF: ev.dFF, layers: [] };
      this.stats = new StreamingStats({ layers: nLayers, positions: ev.nPositions, neurons: ev.dFF, metrics: this.metricNames });
      if (this.storage.mode === "topk") this.reservoirs = new ReservoirSet({ layers: nLayers, positions: ev.nPositions, neurons: ev.dFF, k: this.storage.k });
    }
    if (!this.shape!.layers.includes(ev.layer)) this.shape!.layers.push(ev.layer);
    this.reservoirs?.update(ev.layer, ev.data, ev.sampleIdx);
    const values = gatherMetricValues([...this.tables.values()], ev.sampleIdx);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        this.incomplete.add(this.metricNames[Math.floor(i / ev.sampleIdx.length)]);
        values[i] = 0; // placeholder: that metric is rescored from stored activations at the end (or, in topk, left unscored)
      }
    }
    this.stats!.update(ev.layer, ev.data, values);
  }

  /** Outputs in ascending sample order. */
  outputBatch(): SampleBatch {
    const order = [...this.outputs.keys()].sort((a, b) => a - b);
    const o = (i: number) => this.outputs.get(i)!;
    return {
      sampleIdx: Int32Array.from(order),
      loss: Float64Array.from(order, (i) => o(i).loss),
      goldProb: Float64Array.from(order, (i) => o(i).goldProb),
      confidence: Float64Array.from(order, (i) => o(i).confidence),
      // content scores only when every sample has them (an older runner's shard has none)
      ...(order.every((i) => o(i).contentToken !== undefined)
        ? {
          contentToken: Int32Array.from(order, (i) => o(i).contentToken!),
          contentLoss: Float64Array.from(order, (i) => o(i).contentLoss!),
          contentConfidence: Float64Array.from(order, (i) => o(i).contentConfidence!),
        }
        : {}),
      prediction: order.map((i) => o(i).prediction),
      correct: Uint8Array.from(order, (i) => (o(i).correct ? 1 : 0)),
    };
  }

  toPartial(): ShardPartial {
    return {
      outputs: this.outputBatch(),
      stats: this.stats?.toSnapshot() ?? null,
      reservoirs: this.reservoirs?.toSnapshot() ?? null,
      incomplete: [...this.incomplete],
      shape: this.shape && { ...this.shape, layers: [...this.shape.layers] },
    };
  }

  /** Merges a disjoint shard's partial (same metrics, storage and shape); a shape mismatch throws before anything changes. */
  merge(p: ShardPartial): void {
    if (p.shape && this.shape && (p.shape.positions !== this.shape.positions || p.shape.dFF !== this.shape.dFF)) {
      throw new Error(`shard partial has ${p.shape.positions} positions x d_ff ${p.shape.dFF}, the run ${this.shape.positions} x ${this.shape.dFF}`);
    }
    if (p.stats && this.stats) this.stats.merge(p.stats);
    else if (p.stats) this.stats = StreamingStats.fromSnapshot(p.stats);
    if (p.reservoirs && this.reservoirs) this.reservoirs.merge(p.reservoirs);
    else if (p.reservoirs) this.reservoirs = ReservoirSet.fromSnapshot(p.reservoirs);
    if (p.shape) {
      this.shape ??= { positions: p.shape.positions, dFF: p.shape.dFF, layers: [] };
      for (const l of p.shape.layers) if (!this.shape.layers.includes(l)) this.shape.layers.push(l);
    }
    this.observeSamples(p.outputs);
    for (const m of p.incomplete) this.incomplete.add(m);
  }
}

function unknownMetric(name: string, all: MetricInfo[]): never {
  throw new Error(`unknown metric "${name}" for this task (available: ${all.map((m) => m.name).join(", ")})`);
}
