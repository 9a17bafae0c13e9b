/**
 * Where a run's extraction shards execute. The local pool runs each shard job in its own worker
 * thread, `runners` at a time; server/queue's pool hands them to runners behind a broker.
 */
import { startRunInWorker, type HostOptions, type RunHandle } from "../../gpu-runner/runner/host.js";
import type { RunnerEvent } from "../../gpu-runner/runner/protocol.js";
import type { ShardJob } from "./shard-job.js";

/** Takes a job's events in order; the promise it returns settles once the event has been consumed (a shard's partial merged). */
export type EventSink = (ev: RunnerEvent) => void | Promise<void>;

export interface ShardPool {
  /** Runners that take shards: a run is split into this many shards unless its options say otherwise. */
  readonly runners: number;
  /** Shard jobs the run manager keeps in flight at once. */
  readonly concurrency: number;
  /** Whether activation batches can come back as events (local workers); else full storage needs a lake. */
  readonly carriesActivations: boolean;
  /**
   * Runs one shard job; events reach the sink in order, and `done` settles with the shard's
   * terminal event (a ShardDoneEvent, or an error once the pool gives the shard up). A pool that
   * fetches partials may wait on the sink's promise so that the server holds one at a time.
   */
  run(job: ShardJob, sink: EventSink): RunHandle;
  /** Releases the pool's connections (the run manager calls it when it closes). */
  close?(): Promise<void>;
}

export const SHARD_WORKER_URL = new URL("./shard-worker.js", import.meta.url);

/** N local runners: worker threads on this machine, one per shard in flight. */
export function localShardPool(runners: number, host: HostOptions = {}): ShardPool {
  if (!Number.isInteger(runners) || runners < 1) throw new RangeError(`runners must be an integer >= 1, got ${runners}`);
  return { runners, concurrency: runners, carriesActivations: true, run: (job, sink) => startRunInWorker(job, sink, { ...host, workerUrl: SHARD_WORKER_URL }) };
}

export interface ShardRange {
  readonly index: number;
  /** Val rows [start, end). */
  readonly start: number;
  readonly end: number;
}

/** Contiguous shards of nVal rows whose sizes differ by at most one (uneven when count does not divide nVal). */
export function planShards(nVal: number, count: number): ShardRange[] {
  const n = Math.max(1, Math.min(count, nVal));
  return Array.from({ length: n }, (_, index) => ({ index, start: Math.floor((index * nVal) / n), end: Math.floor(((index + 1) * nVal) / n) }));
}
