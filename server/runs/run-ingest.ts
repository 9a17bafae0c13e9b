/**
 * One attempt of one run, seen from the server: consumes the runner's events in order, persists
 * them through the store, keeps the streaming statistics (live correlations) and, on `done`,
 * writes outputs, metrics and scores. Activation batches are idempotent by (shard, batch, layer),
 * so an attempt that replays batches a previous attempt stored neither loses nor duplicates them.
 * With storage "topk" no activation is stored: per-layer reservoirs of each neuron's k highest and
 * lowest activations are kept instead and written at the end; scores come from the statistics alone.
 */
import { encodeFrame } from "../../gpu-runner/runner/codec.js";
import type { ActivationsEvent, CheckpointEvent, DoneEvent, RunnerEvent, SamplesEvent, StatusEvent } from "../../gpu-runner/runner/protocol.js";
import { gatherMetricValues, maxAbsOverPositions, ReservoirSet, StreamingStats, topKByAbs } from "../analysis/index.js";
import { computeMetric, listMetrics, type MetricContext, type MetricInfo, type SampleOutput } from "../metrics/index.js";
import type { RunStatus, Store } from "../store/index.js";
import { encodeReservoirs, layerSnapshot } from "./reservoir-codec.js";
import { runStorage } from "./run-options.js";
import type { MetricRow } from "./samples.js";
import { correlationsFromStats, scoreFromStoredActivations, writeCorrelations } from "./scoring.js";

/** Progress events are stored at least this often, and at once when this many wait. */
const EVENT_FLUSH_MS = 250;
const EVENT_BATCH = 256;

/** One neuron on a live leaderboard (entries come ranked by |r| descending; rank = place in the list). */
export interface LeaderboardEntry {
  layer: number;
  index: number;
  /** Signed Pearson r at the best position. */
  r: number;
  bestPosition: number;
}

export interface LiveLeaderboard {
  samplesSeen: number;
  entries: LeaderboardEntry[];
}

export interface IngestHooks {
  status(status: RunStatus): Promise<void>;
  /** A progress event stored under the run's own sequence number (continuous across attempts). */
  progress(seq: number, payload: Record<string, unknown>): void;
  /** Called after each activation batch; the manager throttles leaderboards from here. */
  activations(): void;
}

export class RunIngest {
  private readonly outputs = new Map<number, SampleOutput>();
  /** metric name -> [N val rows]; output metrics fill in per batch (NaN until then). */
  private readonly tables = new Map<string, Float64Array>();
  private readonly metrics: MetricInfo[];
  private stats: StreamingStats | null = null;
  /** Storage "topk" only: the reservoirs that stand in for stored activations. */
  private reservoirs: ReservoirSet | null = null;
  private shape: { positions: number; dFF: number; layers: number[] } | null = null;
  /** Metrics that had a missing value somewhere: scored from stored activations at the end. */
  private readonly incomplete = new Set<string>();
  private status: RunStatus | null = null;
  /** Highest progress sequence number given out (-1: not read from the store yet). */
  private lastSeq = -1;
  private pendingEvents: { seq: number; payload: unknown }[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushError: Error | undefined;
  private nLayers = 0;

  constructor(
    private readonly store: Store,
    private readonly runId: number,
    private readonly ctx: MetricContext & { rows: readonly MetricRow[] },
    private readonly hooks: IngestHooks,
    metricNames?: readonly string[],
  ) {
    const all = listMetrics(ctx);
    this.metrics = metricNames?.length ? metricNames.map((n) => all.find((m) => m.name === n) ?? fail(n, all)) : all;
    for (const m of this.metrics) {
      this.tables.set(m.name, m.needsOutputs ? new Float64Array(ctx.rows.length).fill(Number.NaN) : computeMetric(ctx, m.name));
    }
  }

  get metricNames(): string[] {
    return this.metrics.map((m) => m.name);
  }

  /** Handles one event; the caller awaits each before the next (events are ordered). */
  async handle(ev: RunnerEvent): Promise<void> {
    switch (ev.type) {
      case "status": return this.onStatus(ev);
      case "progress": {
        const { type: _t, runId: _r, seq: _s, ...payload } = ev;
        if (this.lastSeq < 0) this.lastSeq = await this.store.lastEventSeq(this.runId);
        const seq = ++this.lastSeq;
        this.pendingEvents.push({ seq, payload });
        this.hooks.progress(seq, payload);
        // a fast runner emits hundreds of steps a second: store them in batches, not one transaction each
        if (this.flushError) throw this.flushError;
        // a failed timed flush must not become an unhandled rejection: the next event (or the end) reports it
        this.flushTimer ??= setTimeout(() => this.flushEvents().catch((e: Error) => void (this.flushError ??= e)), EVENT_FLUSH_MS);
        if (this.pendingEvents.length >= EVENT_BATCH) await this.flushEvents();
        return;
      }
      case "checkpoint": return this.onCheckpoint(ev);
      case "samples": return this.onSamples(ev);
      case "activations": return this.onActivations(ev);
      case "done": return this.onDone(ev);
      case "error": return; // the manager decides the final status
    }
  }

  /** Stores the progress events not yet written; the manager calls it when an attempt ends. */
  async flushEvents(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.flushError) throw this.flushError;
    const batch = this.pendingEvents;
    this.pendingEvents = [];
    await this.store.appendEvents(this.runId, batch);
  }

  /** Live top-k by max |r| over positions, with the samples behind it; null before the first activation batch. */
  leaderboard(metric: string, k: number): LiveLeaderboard | null {
    const stats = this.stats;
    const shape = this.shape;
    if (!stats || !shape || !this.tables.has(metric)) return null;
    const layers = shape.layers.filter((l) => stats.count(l) > 1);
    if (layers.length === 0) return null;
    const aggs = layers.map((layer) => ({ layer, agg: maxAbsOverPositions(stats.pearson(layer, metric), shape.positions, shape.dFF) }));
    const entries = topKByAbs(aggs.map(({ layer, agg }) => ({ layer, scores: agg.r })), k).map((e) => ({
      layer: e.layer, index: e.neuron, r: e.score,
      bestPosition: aggs.find((a) => a.layer === e.layer)!.agg.position[e.neuron]!,
    }));
    // layers stream batch by batch, so the least-advanced layer bounds what every entry has seen
    return { samplesSeen: Math.min(...layers.map((l) => stats.count(l))), entries };
  }

  private async setStatus(status: RunStatus): Promise<void> {
    if (this.status === status) return;
    this.status = status;
    await this.hooks.status(status);
  }

  private async onStatus(ev: StatusEvent): Promise<void> {
    if (ev.info) {
      this.nLayers = ev.info.nLayers;
      await this.store.updateRun(this.runId, { neuronDefinition: ev.info.neuronDefinition });
    }
    if (ev.phase === "training" || ev.phase === "extracting") await this.setStatus(ev.phase);
  }

  private async onCheckpoint(ev: CheckpointEvent): Promise<void> {
    await this.flushEvents();
    // the whole event, binary-encoded, is the resumable state; the prompt is also kept readable
    await this.store.saveCheckpoint(this.runId, ev.step, ev.checkpoint.prompt, encodeFrame(ev));
  }

  private onSamples(ev: SamplesEvent): void {
    const rows = Array.from(ev.sampleIdx, (i) => this.ctx.rows[i]);
    const outs: SampleOutput[] = Array.from(ev.sampleIdx, (_, r) => ({
      loss: ev.loss[r], goldProb: ev.goldProb[r], confidence: ev.confidence[r], prediction: ev.prediction[r], correct: ev.correct[r] === 1,
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

  private async onActivations(ev: ActivationsEvent): Promise<void> {
    if (!this.stats) {
      if (this.nLayers === 0) throw new Error(`run ${this.runId}: activations arrived before the runner reported the model`);
      this.shape = { positions: ev.nPositions, dFF: ev.dFF, layers: [] };
      this.stats = new StreamingStats({ layers: this.nLayers, positions: ev.nPositions, neurons: ev.dFF, metrics: this.metricNames });
      const storage = runStorage(await this.store.getRun(this.runId));
      if (storage.mode === "topk") {
        this.reservoirs = new ReservoirSet({ layers: this.nLayers, positions: ev.nPositions, neurons: ev.dFF, k: storage.k });
      }
    }
    if (!this.shape!.layers.includes(ev.layer)) this.shape!.layers.push(ev.layer);
    if (this.reservoirs) this.reservoirs.update(ev.layer, ev.data, ev.sampleIdx);
    else {
      await this.store.ingestActivations(this.runId, {
        shard: ev.shard, batchId: String(ev.batchId), layer: ev.layer, sampleIdx: ev.sampleIdx, nPositions: ev.nPositions, dFF: ev.dFF, data: ev.data,
      });
    }
    const values = gatherMetricValues([...this.tables.values()], ev.sampleIdx);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        this.incomplete.add(this.metricNames[Math.floor(i / ev.sampleIdx.length)]);
        values[i] = 0; // placeholder: that metric is rescored from stored activations at the end (or, in topk, left unscored)
      }
    }
    this.stats!.update(ev.layer, ev.data, values);
    this.hooks.activations();
  }

  private async onDone(ev: DoneEvent): Promise<void> {
    await this.flushEvents();
    await this.setStatus("scoring");
    const n = this.ctx.rows.length;
    const order = [...this.outputs.keys()].sort((a, b) => a - b);
    // outputs are written once, by the attempt that finishes, so a failed attempt leaves none behind
    await this.store.writeSampleOutputs(this.runId, {
      sampleIdx: Int32Array.from(order),
      sampleId: order.map((i) => this.ctx.rows[i].id),
      loss: Float64Array.from(order, (i) => this.outputs.get(i)!.loss),
      goldProb: Float64Array.from(order, (i) => this.outputs.get(i)!.goldProb),
      confidence: Float64Array.from(order, (i) => this.outputs.get(i)!.confidence),
      prediction: order.map((i) => this.outputs.get(i)!.prediction),
      correct: Uint8Array.from(order, (i) => (this.outputs.get(i)!.correct ? 1 : 0)),
    });
    const sampleIds = this.ctx.rows.map((r) => r.id);
    for (const m of this.metrics) {
      await this.store.writeMetric(this.runId, { name: m.name, kind: m.kind, description: m.description, sampleId: sampleIds, value: this.tables.get(m.name)! });
    }
    const unscored: { metric: string; reason: string }[] = [];
    if (this.stats && this.shape) {
      const { positions, dFF, layers } = this.shape;
      layers.sort((a, b) => a - b);
      for (const m of this.metrics) {
        const rescore = this.incomplete.has(m.name) || order.length !== n;
        if (rescore && this.reservoirs) {
          // the statistics hold placeholder zeros for its missing values, and no activations were kept to rescore from
          unscored.push({ metric: m.name, reason: 'has samples without a value and the run kept only reservoirs (storage "topk"), so it cannot be rescored from activations' });
          continue;
        }
        const layerScores = rescore
          ? await scoreFromStoredActivations(this.store, this.runId, m.name, this.tables.get(m.name)!, layers)
          : correlationsFromStats(this.stats, layers, m.name, positions, dFF);
        await writeCorrelations(this.store, this.runId, m.name, layerScores);
      }
      if (this.reservoirs) {
        const snap = this.reservoirs.toSnapshot();
        for (const layer of layers) await this.store.putReservoir(this.runId, layer, encodeReservoirs(layerSnapshot(snap, layer)));
      }
      await this.store.updateRun(this.runId, { layers });
    }
    const s = ev.summary;
    await this.store.updateRun(this.runId, {
      timings: { seconds: s.seconds, trainSeconds: s.trainSeconds ?? null, extractSeconds: s.extractSeconds ?? null },
      trainFigures: s.train ?? null,
      valFigures: s.extract
        ? { samples: s.extract.samples, accuracy: s.extract.accuracy, meanLoss: s.extract.meanLoss, ...(unscored.length ? { unscored } : {}) }
        : null,
    });
  }
}

function fail(name: string, all: MetricInfo[]): never {
  throw new Error(`unknown metric "${name}" for this task (available: ${all.map((m) => m.name).join(", ")})`);
}
