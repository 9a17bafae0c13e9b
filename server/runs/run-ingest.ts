/**
 * One attempt of one run, seen from the server: consumes the runner's events in order, persists
 * them through the store, keeps the streaming statistics (live correlations) and, on `done`,
 * writes outputs, metrics and scores. Activation batches are idempotent by (shard, batch, layer),
 * so an attempt that replays batches a previous attempt stored neither loses nor duplicates them.
 * With a shard pool and an activation lake, shards write activations to Parquet and only their files
 * are cataloged here. With storage "topk" no activation is stored: per-layer reservoirs of each neuron's k highest and
 * lowest activations are kept instead and written at the end; scores come from the statistics alone.
 */
import { encodeFrame } from "../../gpu-runner/runner/codec.js";
import type { ActivationsEvent, CheckpointEvent, RunnerEvent, RunSummary, StatusEvent } from "../../gpu-runner/runner/protocol.js";
import { maxAbsOverPositions, topKByAbs } from "../analysis/index.js";
import type { MetricContext } from "../metrics/index.js";
import type { LakeFile, RunStatus, Store } from "../store/index.js";
import { PartialStats, type ShardPartial } from "./partial-stats.js";
import { encodeReservoirs, layerSnapshot } from "./reservoir-codec.js";
import type { RunStorage } from "./run-options.js";
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
  /** The whole run's statistics: updated per batch (one runner) or merged from shard partials. */
  private readonly partial: PartialStats;
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
    private readonly options: { metrics?: readonly string[]; storage: RunStorage },
  ) {
    this.partial = new PartialStats(ctx, options.storage, options.metrics);
  }

  get metricNames(): string[] {
    return this.partial.metricNames;
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
      case "samples": return this.partial.observeSamples(ev);
      case "activations": return this.onActivations(ev);
      case "done": return this.finish(ev.summary);
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

  /**
   * Live top-k by max |r| over positions, with the samples behind it; null before the first
   * activation batch, and for a metric that lacked a value on some streamed sample: its statistics
   * hold placeholder zeros there, so it is ranked only once rescored from stored activations at the end.
   */
  leaderboard(metric: string, k: number): LiveLeaderboard | null {
    const { stats, shape } = this.partial;
    if (!stats || !shape || !this.partial.tables.has(metric) || this.partial.incomplete.has(metric)) return null;
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

  private async onActivations(ev: ActivationsEvent): Promise<void> {
    if (this.nLayers === 0) throw new Error(`run ${this.runId}: activations arrived before the runner reported the model`);
    await this.storeActivations(ev);
    this.partial.observeActivations(ev, this.nLayers);
    this.hooks.activations();
  }

  /** Stores a batch (storage "full"; idempotent by shard, batch and layer) without counting it: a shard runner counts its own. */
  async storeActivations(ev: ActivationsEvent): Promise<void> {
    if (this.options.storage.mode !== "full") return;
    await this.store.ingestActivations(this.runId, {
      shard: ev.shard, batchId: String(ev.batchId), layer: ev.layer, sampleIdx: ev.sampleIdx, nPositions: ev.nPositions, dFF: ev.dFF, data: ev.data,
    });
  }

  /**
   * Merges a finished shard's statistics, reservoirs and outputs (each shard exactly once), after
   * cataloging the activation-lake files it wrote (if any) in place of sending activations.
   */
  async mergeShard(p: ShardPartial, shard: number, lake: { location: string; files: readonly LakeFile[] } | null): Promise<void> {
    if (lake && lake.files.length > 0) {
      if (!p.shape) throw new Error(`run ${this.runId} shard ${shard}: lake files without a shape`);
      await this.store.catalogLakeShard(this.runId, shard, lake.location, lake.files, p.shape);
    }
    this.partial.merge(p);
    this.hooks.activations();
  }

  /** Forgets the lake files of an earlier extraction of this run. */
  clearLake(): Promise<void> {
    return this.store.clearLakeCatalog(this.runId);
  }

  /** Writes outputs, metrics and scores: the attempt's `done` (one runner) or the merged shards' end. */
  async finish(s: RunSummary): Promise<void> {
    await this.flushEvents();
    await this.setStatus("scoring");
    const n = this.ctx.rows.length;
    const out = this.partial.outputBatch();
    const order = out.sampleIdx;
    // outputs are written once, by the attempt that finishes, so a failed attempt leaves none behind
    await this.store.writeSampleOutputs(this.runId, { ...out, prediction: [...out.prediction], sampleId: Array.from(order, (i) => this.ctx.rows[i].id) });
    const sampleIds = this.ctx.rows.map((r) => r.id);
    const { metrics, tables, stats, shape, reservoirs, incomplete } = this.partial;
    for (const m of metrics) {
      await this.store.writeMetric(this.runId, { name: m.name, kind: m.kind, description: m.description, sampleId: sampleIds, value: tables.get(m.name)! });
    }
    const unscored: { metric: string; reason: string }[] = [];
    if (stats && shape) {
      const { positions, dFF, layers } = shape;
      layers.sort((a, b) => a - b);
      for (const m of metrics) {
        const rescore = incomplete.has(m.name) || order.length !== n;
        if (rescore && reservoirs) {
          // the statistics hold placeholder zeros for its missing values, and no activations were kept to rescore from
          unscored.push({ metric: m.name, reason: 'has samples without a value and the run kept only reservoirs (storage "topk"), so it cannot be rescored from activations' });
          continue;
        }
        const layerScores = rescore
          ? await scoreFromStoredActivations(this.store, this.runId, m.name, tables.get(m.name)!, layers)
          : correlationsFromStats(stats, layers, m.name, positions, dFF);
        await writeCorrelations(this.store, this.runId, m.name, layerScores);
      }
      if (reservoirs) {
        const snap = reservoirs.toSnapshot();
        for (const layer of layers) await this.store.putReservoir(this.runId, layer, encodeReservoirs(layerSnapshot(snap, layer)));
      }
      await this.store.updateRun(this.runId, { layers });
    }
    await this.store.updateRun(this.runId, {
      timings: { seconds: s.seconds, trainSeconds: s.trainSeconds ?? null, extractSeconds: s.extractSeconds ?? null },
      trainFigures: s.train ?? null,
      valFigures: s.extract
        ? { samples: s.extract.samples, accuracy: s.extract.accuracy, meanLoss: s.extract.meanLoss, ...(unscored.length ? { unscored } : {}) }
        : null,
    });
  }
}
