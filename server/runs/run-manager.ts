/**
 * The run manager, the one scheduler of worker work: queues runs and jobs on finished runs (causal
 * experiments) in one FIFO over the same slots, so they never compete for the cores; drives each
 * run in a runner (a worker thread by default), persists every status change, cancels and resumes
 * on request, and tells listeners (GraphQL subscriptions) about progress, status and live leaderboards.
 */
import { decodeFrame } from "../../gpu-runner/runner/codec.js";
import { startRunInWorker, type HostOptions, type RunHandle } from "../../gpu-runner/runner/host.js";
import type { RunnerEvent, RunSummary, StartMessage, TerminalEvent } from "../../gpu-runner/runner/protocol.js";
import type { TrainCheckpoint } from "../../gpu-runner/train/train.js";
import { parseVerbalizer, runSplits } from "../tasks/index.js";
import type { LakeTarget, RunRecord, RunStatus, Store } from "../store/index.js";
import { clearLakeRun } from "../store/lake-writer.js";
import { RunIngest, type LiveLeaderboard } from "./run-ingest.js";
import { runnerConfig, runStorage, validateRunOptions, type RunOptions } from "./run-options.js";
import { toMetricRow, toRunnerRow, type MetricRow } from "./samples.js";
import { ServiceError } from "../errors.js";
import { isShardDone, type ShardJob } from "./shard-job.js";
import { planShards, type EventSink, type ShardPool } from "./shard-pool.js";

/** Starts a runner for a start message; events go to the sink in order. */
export type Executor = (start: StartMessage, sink: (ev: RunnerEvent) => void) => RunHandle;

export type RunManagerEvent =
  | { type: "progress"; runId: number; seq: number; payload: Record<string, unknown> }
  | { type: "status"; run: RunRecord }
  | { type: "leaderboard"; runId: number };

export interface RunManagerOptions {
  /** Runs executed at once (default 1). */
  concurrency?: number;
  executor?: Executor;
  host?: HostOptions;
  /** Least time between two leaderboard notifications of one run (default 500 ms). */
  leaderboardIntervalMs?: number;
  /** Folders every file of a run's model must resolve inside when the runner opens it; undefined: no check. */
  modelRoots?: readonly string[];
  /**
   * Several runners per run: training stays on one runner (the executor), then the val set is split
   * into shards that the pool's runners extract at once, each keeping its own partial statistics.
   */
  shards?: ShardPool;
  /**
   * With shards: runs with storage "full" have their runners write activations to this lake
   * (Parquet, store/lake-writer.ts) and send the server only statistics and the files' list.
   */
  lake?: LakeTarget;
}

/** One executing run: the runner jobs in flight (one, or one per shard) and whether it was cancelled. */
interface Slot {
  readonly handles: Set<RunHandle>;
  ingest?: RunIngest;
  cancelled: boolean;
}

export interface StoredRunConfig {
  options: RunOptions;
}

const RESUMABLE: readonly RunStatus[] = ["interrupted", "failed", "cancelled"];

/** A job on a run (e.g. an ablation) while it waits for a slot or runs. */
export interface JobInfo {
  readonly id: string;
  readonly runId: number;
  /** What it does, e.g. "ablation", "steering". */
  readonly kind: string;
  state: "queued" | "running";
  /** The job's latest status line, null before the first. */
  status: string | null;
}

/** The work of a job: it must stop (rejecting) soon after `signal` aborts. */
export type JobWork<T> = (signal: AbortSignal, status: (message: string) => void) => Promise<T>;

interface Job {
  info: JobInfo;
  controller: AbortController;
  start(): void;
  refuse(error: Error): void;
}

export class RunManager {
  /** Waiting work in start order: run ids (numbers) and job ids (strings). */
  private readonly queue: (number | string)[] = [];
  private readonly jobs = new Map<string, Job>();
  private runningJobs = 0;
  private jobCounter = 0;
  private readonly active = new Map<number, Slot>();
  private readonly listeners = new Set<(e: RunManagerEvent) => void>();
  private readonly lastBoard = new Map<number, number>();
  private idle: Promise<void> = Promise.resolve();
  private settle: () => void = () => {};
  private closed = false;

  constructor(private readonly store: Store, private readonly options: RunManagerOptions = {}) {}

  /** Folders a model must resolve inside when a run or a job on a run opens it (undefined: no check). */
  get modelRoots(): readonly string[] | undefined {
    return this.options.modelRoots;
  }

  /** Requeues runs left queued by a previous server process. Interrupted runs wait for resume(). */
  async init(): Promise<void> {
    for (const run of await this.store.listRuns()) if (run.status === "queued") this.enqueue(run.id);
  }

  on(listener: (e: RunManagerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(input: { modelId: number; taskId: number; options?: RunOptions }): Promise<RunRecord> {
    const options = input.options ?? {};
    validateRunOptions(options);
    await this.store.getModel(input.modelId);
    await this.store.getTask(input.taskId);
    const id = await this.store.createRun({ modelId: input.modelId, taskId: input.taskId, config: { options } satisfies StoredRunConfig });
    const run = await this.store.getRun(id);
    this.emit({ type: "status", run });
    this.enqueue(id);
    return run;
  }

  /** Cancels a queued or running run; the runner stops at its next batch and keeps a checkpoint. */
  async cancel(runId: number): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    const q = this.queue.indexOf(runId);
    if (q >= 0) {
      this.queue.splice(q, 1);
      return this.setStatus(runId, "cancelled");
    }
    const a = this.active.get(runId);
    if (!a) throw new ServiceError("BAD_STATE", `run ${runId} is ${run.status}, not queued or running: nothing to cancel`);
    a.cancelled = true;
    for (const h of a.handles) h.cancel();
    return run;
  }

  /** Queues an interrupted, failed or cancelled run again; it continues from its last checkpoint. */
  async resume(runId: number): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    if (!RESUMABLE.includes(run.status)) {
      throw new ServiceError("BAD_STATE", `run ${runId} is ${run.status}; only ${RESUMABLE.join(", ")} runs can be resumed`);
    }
    const queued = await this.setStatus(runId, "queued");
    this.enqueue(runId);
    return queued;
  }

  /** Live top-k of a running run (null when it has no activations yet or is not running). */
  leaderboard(runId: number, metric: string, k: number): LiveLeaderboard | null {
    return this.active.get(runId)?.ingest?.leaderboard(metric, k) ?? null;
  }

  isActive(runId: number): boolean {
    return this.active.has(runId) || this.queue.includes(runId);
  }

  /**
   * Queues `work` on run `runId` behind everything queued before it, in the slots runs use. The
   * promise settles with the work; cancelJob() or close() aborts it (a queued job is refused with
   * BAD_STATE without starting).
   */
  runJob<T>(runId: number, kind: string, work: JobWork<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ServiceError("BAD_STATE", `the server is shutting down: no new ${kind} job`));
    return new Promise<T>((resolve, reject) => {
      const info: JobInfo = { id: `${kind}-${++this.jobCounter}`, runId, kind, state: "queued", status: null };
      const controller = new AbortController();
      const job: Job = {
        info,
        controller,
        refuse: reject,
        start: () => {
          info.state = "running";
          this.runningJobs++;
          work(controller.signal, (message) => (info.status = message))
            .then(resolve, reject)
            .finally(() => {
              this.jobs.delete(info.id);
              this.runningJobs--;
              this.pump();
              this.settleIfIdle();
            });
        },
      };
      this.jobs.set(info.id, job);
      this.markBusy();
      this.queue.push(info.id);
      this.pump();
    });
  }

  /** Queued and running jobs, oldest first; of one run when `runId` is given. */
  listJobs(runId?: number): JobInfo[] {
    return [...this.jobs.values()].map((j) => j.info).filter((j) => runId === undefined || j.runId === runId);
  }

  /** Cancels a queued job (it never starts) or aborts a running one; returns it as it was. */
  cancelJob(id: string): JobInfo {
    const job = this.jobs.get(id);
    if (!job) throw new ServiceError("NOT_FOUND", `no queued or running job ${id}: it finished, or never existed`);
    const snapshot = { ...job.info };
    const q = this.queue.indexOf(id);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.jobs.delete(id);
      job.refuse(new ServiceError("BAD_STATE", `${job.info.kind} job ${id} was cancelled before it started`));
      this.settleIfIdle();
    } else {
      job.controller.abort();
    }
    return snapshot;
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    return this.idle;
  }

  /** Cancels running work and waits for it to stop; queued runs stay queued for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of this.queue.filter((e): e is string => typeof e === "string")) this.cancelJob(id);
    this.queue.length = 0;
    for (const a of this.active.values()) {
      a.cancelled = true;
      for (const h of a.handles) h.cancel();
    }
    for (const job of this.jobs.values()) job.controller.abort();
    this.settleIfIdle();
    await this.idle;
    await this.options.shards?.close?.();
  }

  private busy(): boolean {
    return this.active.size > 0 || this.runningJobs > 0 || this.queue.length > 0;
  }

  /** Call before adding work: starts a new idle promise when the manager was idle. */
  private markBusy(): void {
    if (!this.busy()) this.idle = new Promise((r) => (this.settle = r));
  }

  private settleIfIdle(): void {
    if (!this.busy()) this.settle();
  }

  private enqueue(runId: number): void {
    if (this.closed || this.isActive(runId)) return;
    this.markBusy();
    this.queue.push(runId);
    this.pump();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 1;
    while (!this.closed && this.active.size + this.runningJobs < limit && this.queue.length > 0) {
      const next = this.queue.shift()!;
      if (typeof next === "string") {
        this.jobs.get(next)?.start();
        continue;
      }
      const runId = next;
      const slot: Slot = { handles: new Set(), cancelled: false };
      this.active.set(runId, slot);
      void this.execute(runId, slot)
        .catch(async (e: Error) => {
          await this.setStatus(runId, "failed", e.message).catch(() => {});
        })
        .finally(() => {
          this.active.delete(runId);
          this.lastBoard.delete(runId);
          this.pump();
          this.settleIfIdle();
        });
    }
  }

  private async execute(runId: number, slot: Slot): Promise<void> {
    const run = await this.store.getRun(runId);
    const options = (run.config as StoredRunConfig).options ?? {};
    const model = await this.store.getModel(run.modelId);
    const task = await this.store.getTask(run.taskId);
    const samples = await this.store.listSamples(run.taskId);
    const { train, dev, val } = runSplits(samples);
    const verbalizer = task.verbalizer ? parseVerbalizer(task.verbalizer as Record<string, string>) : undefined;
    const metricRows = withAllColumns(val.map(toMetricRow));
    const ingest = new RunIngest(this.store, runId, { rows: metricRows, verbalizer }, {
      status: async (status) => void (await this.setStatus(runId, status)),
      progress: (seq, payload) => this.emit({ type: "progress", runId, seq, payload }),
      activations: () => this.boardTick(runId),
    }, { metrics: options.metrics, storage: runStorage(options) });
    slot.ingest = ingest;
    await this.setStatus(runId, "running");

    const start: StartMessage = {
      type: "start",
      runId: String(runId),
      model: { kind: "onnx", dir: model.path, threads: options.threads, device: options.device, roots: this.options.modelRoots },
      rows: { train: train.map(toRunnerRow), dev: dev.map(toRunnerRow), val: val.map(toRunnerRow) },
      ...runnerConfig(options),
      resume: await this.resumeState(runId),
    };
    const pool = this.options.shards;
    const terminal = pool && val.length > 0 && start.extract?.enabled !== false
      ? await this.executeSharded(slot, pool, start, ingest, { metricRows, verbalizer: task.verbalizer as Record<string, string> | null, options })
      : await this.drive(slot, start, this.executor, (ev) => ingest.handle(ev));
    await ingest.flushEvents();
    if (terminal.type === "done") await this.setStatus(runId, "done");
    else if (terminal.code === "CANCELLED" || slot.cancelled) await this.setStatus(runId, this.closed ? "interrupted" : "cancelled", terminal.message);
    else await this.setStatus(runId, "failed", `${terminal.code}: ${terminal.message}`);
  }

  private get executor(): Executor {
    return this.options.executor ?? ((s, sink) => startRunInWorker(s, sink, this.options.host));
  }

  /**
   * Runs one runner job, handing its events to `handle` strictly in order; a failure to persist one
   * cancels the job and is rethrown once it has stopped.
   */
  private async drive<J extends { runId: string }>(slot: Slot, job: J, executor: (job: J, sink: EventSink) => RunHandle, handle: (ev: RunnerEvent) => unknown): Promise<TerminalEvent> {
    let chain = Promise.resolve();
    let sinkError: Error | null = null;
    let handleOf: RunHandle | undefined;
    const h = executor(job, (ev) => {
      chain = chain.then(async () => void (sinkError ? undefined : await handle(ev))).catch((e: Error) => {
        sinkError ??= e;
        handleOf?.cancel();
      });
      return chain;
    });
    handleOf = h;
    slot.handles.add(h);
    if (slot.cancelled) h.cancel();
    const terminal: TerminalEvent = await h.done.catch((e: Error) => ({ type: "error", runId: job.runId, seq: -1, code: "WORKER_EXITED", message: e.message }) as TerminalEvent);
    slot.handles.delete(h);
    await chain;
    if (sinkError) throw sinkError;
    return terminal;
  }

  /**
   * Trains on one runner, then extracts the val set in shards on the pool's runners at once. Each
   * shard ends with its partial statistics, merged exactly once; a failed or cancelled shard stops
   * the others and the run (resumable: it trains from its last checkpoint and extracts again).
   */
  private async executeSharded(
    slot: Slot, pool: ShardPool, start: StartMessage, ingest: RunIngest,
    rows: { metricRows: MetricRow[]; verbalizer: Record<string, string> | null; options: RunOptions },
  ): Promise<TerminalEvent> {
    const t0 = performance.now();
    // the training job's `done` is not the run's end: it carries the prompt every shard extracts with
    const storage = runStorage(rows.options);
    const lake = storage.mode === "full" ? this.options.lake ?? null : null;
    if (storage.mode === "full" && !lake && !pool.carriesActivations) {
      return { type: "error", runId: start.runId, seq: -1, code: "BAD_INPUT", message: 'runners behind a queue cannot send activations back: start the server with an activation lake (--lake DIR) or the run with storage "topk"' };
    }
    const trained = await this.drive(slot, { ...start, extract: { ...start.extract, enabled: false } }, this.executor, (ev) => (ev.type === "done" ? undefined : ingest.handle(ev)));
    if (trained.type !== "done") return trained;
    if (lake) {
      // a new extraction: what an earlier attempt wrote (maybe with other shard bounds) is not this one's
      await ingest.clearLake();
      clearLakeRun(lake.location, Number(start.runId));
    }
    const ranges = planShards(start.rows.val.length, rows.options.shards ?? pool.runners);
    const jobs: ShardJob[] = ranges.map((r) => ({
      type: "shard",
      runId: start.runId,
      start: { ...start, resume: undefined, rows: { train: [], val: start.rows.val }, prompt: trained.summary.prompt, shard: { index: r.index, count: ranges.length, start: r.start, end: r.end } },
      metricRows: rows.metricRows,
      verbalizer: rows.verbalizer,
      metrics: rows.options.metrics,
      storage,
      sendActivations: storage.mode === "full" && !lake,
      lake,
    }));
    // shards' events interleave; one queue keeps the store's writes and the progress numbering in order
    let serial = Promise.resolve();
    const inOrder = (f: () => unknown) => (serial = serial.then(async () => void (await f())));
    // summaries only: a shard's `done` also holds its partial (hundreds of MiB for a 7B model), freed once merged
    const summaries: RunSummary[] = [];
    let stop: TerminalEvent | null = null;
    let next = 0;
    const runner = async () => {
      while (next < jobs.length && !stop && !slot.cancelled) {
        const job = jobs[next++];
        const t = await this.drive(slot, job, (j, sink) => pool.run(j, sink), (ev) => {
          if (isShardDone(ev)) return inOrder(() => ingest.mergeShard(ev.partial, job.start.shard!.index, lake && { location: lake.location, files: ev.lake }));
          if (ev.type === "activations") return inOrder(() => ingest.storeActivations(ev));
          if (ev.type === "progress") return inOrder(() => ingest.handle(ev));
          return undefined; // status and error: the shard's terminal event decides
        });
        if (t.type === "done") summaries.push(t.summary);
        else if (!stop) {
          stop = t;
          for (const h of slot.handles) h.cancel();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(pool.concurrency, jobs.length) }, runner));
    if (stop) return stop;
    if (summaries.length < jobs.length) return { type: "error", runId: start.runId, seq: -1, code: "CANCELLED", message: `run ${start.runId} was cancelled during extraction` };
    const summary = mergedSummary(trained.summary, summaries, (performance.now() - t0) / 1000);
    await ingest.finish(summary);
    return { type: "done", runId: start.runId, seq: -1, summary };
  }

  private async resumeState(runId: number): Promise<TrainCheckpoint | undefined> {
    const cp = await this.store.latestCheckpoint(runId);
    if (!cp?.resumeFrame) return undefined;
    const ev = decodeFrame(cp.resumeFrame);
    return ev.type === "checkpoint" ? ev.checkpoint : undefined;
  }

  private async setStatus(runId: number, status: RunStatus, error: string | null = null): Promise<RunRecord> {
    const run = await this.store.setRunStatus(runId, status, error);
    this.emit({ type: "status", run });
    return run;
  }

  private boardTick(runId: number): void {
    const now = Date.now();
    if (now - (this.lastBoard.get(runId) ?? 0) < (this.options.leaderboardIntervalMs ?? 500)) return;
    this.lastBoard.set(runId, now);
    this.emit({ type: "leaderboard", runId });
  }

  private emit(e: RunManagerEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/** Every row carries every numeric column (NaN where a row lacks it), as the metrics library expects. */
export function withAllColumns(rows: MetricRow[]): MetricRow[] {
  const names = new Set(rows.flatMap((r) => Object.keys(r.columns)));
  return rows.map((r) => ({ ...r, columns: Object.fromEntries([...names].map((n) => [n, r.columns[n] ?? Number.NaN])) }));
}

/** The run's summary from its training job's and its shards' (validation figures weighted by shard size). */
function mergedSummary(trained: RunSummary, shards: RunSummary[], seconds: number): RunSummary {
  const ex = shards.flatMap((s) => (s.extract ? [s.extract] : []));
  const samples = ex.reduce((a, e) => a + e.samples, 0);
  const weighted = (f: (e: (typeof ex)[number]) => number) => (samples > 0 ? ex.reduce((a, e) => a + f(e) * e.samples, 0) / samples : 0);
  return {
    ...trained,
    extract: ex.length === 0 ? undefined : {
      samples, batches: ex.reduce((a, e) => a + e.batches, 0), accuracy: weighted((e) => e.accuracy), meanLoss: weighted((e) => e.meanLoss),
      layers: ex[0].layers, nPositions: ex[0].nPositions, shard: -1,
    },
    seconds,
  };
}
