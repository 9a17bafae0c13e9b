/**
 * The server's side of the work queue (`skillscope serve --queue URL`): a ShardPool whose shard jobs
 * go to BullMQ on Redis for any runner (`skillscope runner --queue URL`) to take. Each job id is
 * unique per dispatch, so a shard is merged once by the run manager whatever the broker redelivers;
 * progress comes back as job progress, the partial as binary result keys (chunks).
 */
import { randomUUID } from "node:crypto";
import { Queue, QueueEvents } from "bullmq";
import { Redis, type RedisOptions as RedisClientOptions } from "ioredis";
import { decodeFrame, encodeFrame } from "../../gpu-runner/runner/codec.js";
import type { RunHandle } from "../../gpu-runner/runner/host.js";
import type { ErrorEvent, RunnerEvent, TerminalEvent } from "../../gpu-runner/runner/protocol.js";
import type { RunnerErrorCode } from "../../gpu-runner/train/errors.js";
import type { ShardJob } from "../runs/shard-job.js";
import type { EventSink, ShardPool } from "../runs/shard-pool.js";
import { cancelChannel, cancelledKey, DEFAULT_PREFIX, dropResult, redisOptions, RESULT_TTL_S, resultKey, SHARD_QUEUE, takeResult, type ResultRef } from "./broker.js";

export interface QueuePoolOptions {
  /** Shards per run when its options give none (default 8). */
  readonly shardsPerRun?: number;
  /** Key prefix (default "skillscope"): one server per prefix. */
  readonly prefix?: string;
}

/** The job data: the ShardJob as a codec frame (typed arrays and NaN survive), base64. */
export interface ShardJobData {
  readonly frame: string;
}

/** How long a cancelled job's runner has to confirm before the job counts as stopped anyway. */
const CANCEL_GRACE_MS = 10000;

interface Pending {
  readonly runId: string;
  readonly sink: EventSink;
  readonly finish: (ev: TerminalEvent) => void;
  seq: number;
}

export class QueueShardPool implements ShardPool {
  readonly concurrency = Number.POSITIVE_INFINITY;
  readonly carriesActivations = false;
  private readonly pending = new Map<string, Pending>();
  /** Results are fetched one at a time, each once the previous is merged: the server holds one partial, not one per finished shard. */
  private results: Promise<void> = Promise.resolve();

  private constructor(
    readonly runners: number,
    private readonly prefix: string,
    private readonly queue: Queue<ShardJobData>,
    private readonly events: QueueEvents,
    private readonly redis: Redis,
  ) {
    events.on("progress", ({ jobId, data }) => {
      const p = this.pending.get(jobId);
      if (p && data && typeof data === "object") p.sink({ ...(data as object), type: "progress", runId: p.runId, seq: p.seq++ } as RunnerEvent);
    });
    events.on("completed", ({ jobId, returnvalue }) => (this.results = this.results.then(() => this.completed(jobId, returnvalue)).catch(() => undefined)));
    events.on("failed", ({ jobId, failedReason }) => {
      const [, code, message] = /^([A-Z_]+): ([\s\S]*)$/.exec(failedReason) ?? [null, "INTERNAL", failedReason];
      this.end(jobId, code as RunnerErrorCode, message);
    });
  }

  /** Connects to the broker (failing fast when it is unreachable) and clears the jobs and results a previous server left. */
  static async open(url: string, options: QueuePoolOptions = {}): Promise<QueueShardPool> {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const connection = redisOptions(url);
    const redis = new Redis({ ...(connection as RedisClientOptions), lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      await redis.connect();
      await redis.ping();
    } catch (e) {
      redis.disconnect();
      throw new Error(`cannot reach the queue at ${url}: ${(e as Error).message}`);
    }
    const queue = new Queue<ShardJobData>(SHARD_QUEUE, { connection, prefix });
    const events = new QueueEvents(SHARD_QUEUE, { connection, prefix });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    await dropOrphans(queue, redis, prefix);
    return new QueueShardPool(options.shardsPerRun ?? 8, prefix, queue, events, redis);
  }

  run(job: ShardJob, sink: EventSink): RunHandle {
    const jobId = `${job.runId}.${job.start.shard?.index ?? 0}.${randomUUID().slice(0, 8)}`;
    let finish!: (ev: TerminalEvent) => void;
    const done = new Promise<TerminalEvent>((resolve) => (finish = resolve));
    this.pending.set(jobId, { runId: job.runId, sink, finish, seq: 0 });
    const data: ShardJobData = { frame: Buffer.from(encodeFrame(job)).toString("base64") };
    this.queue.add("shard", data, { jobId, removeOnComplete: true, removeOnFail: 1000 }).catch((e: Error) => this.end(jobId, "INTERNAL", `cannot queue shard job ${jobId}: ${e.message}`));
    return { runId: job.runId, done, cancel: () => void this.cancel(jobId) };
  }

  /** Closes the queue connections; jobs in flight end as WORKER_EXITED for their runs. */
  async close(): Promise<void> {
    for (const jobId of [...this.pending.keys()]) this.end(jobId, "WORKER_EXITED", "the server closed its queue connection");
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.redis.disconnect();
  }

  /** Marks the job cancelled (a runner that takes it later refuses it), tells every runner, and drops it if still waiting. */
  private async cancel(jobId: string): Promise<void> {
    if (!this.pending.has(jobId)) return;
    // a runner that died holding the job cannot confirm; the run must still stop
    setTimeout(() => this.end(jobId, "CANCELLED", `shard job ${jobId} was cancelled; its runner did not confirm within ${CANCEL_GRACE_MS} ms`), CANCEL_GRACE_MS).unref();
    try {
      await this.redis.set(cancelledKey(this.prefix, jobId), "1", "EX", RESULT_TTL_S);
      await this.redis.publish(cancelChannel(this.prefix), jobId);
      const job = await this.queue.getJob(jobId);
      if (job && (await job.isWaiting())) {
        await job.remove();
        this.end(jobId, "CANCELLED", `shard job ${jobId} was cancelled before a runner took it`);
      }
    } catch (e) {
      this.end(jobId, "CANCELLED", `shard job ${jobId} cancelled (${(e as Error).message})`);
    }
  }

  private async completed(jobId: string, returnvalue: unknown): Promise<void> {
    const p = this.pending.get(jobId);
    // a job of a previous server (killed mid-run) that its runner finished anyway: nobody will read it
    if (!p) return void (await dropResult(this.redis, returnvalue as ResultRef).catch(() => undefined));
    let terminal: RunnerEvent;
    try {
      terminal = { ...(await this.readResult(returnvalue as ResultRef)), seq: p.seq++ };
    } catch (e) {
      return this.end(jobId, "INTERNAL", `shard job ${jobId} completed (${JSON.stringify(returnvalue)}) but ${(e as Error).message}`);
    }
    this.pending.delete(jobId);
    const merged = p.sink(terminal);
    p.finish(terminal as TerminalEvent);
    await merged;
  }

  /** The job's `done`, decoded, its keys deleted (the encoded bytes are not kept past this call). */
  private async readResult(ref: ResultRef): Promise<RunnerEvent> {
    if (!ref || typeof ref.result !== "string" || !Number.isInteger(ref.chunks) || !Number.isInteger(ref.bytes)) throw new Error("it returned no result reference");
    const ev = decodeFrame<RunnerEvent>(await takeResult(this.redis, ref));
    if (ev.type !== "done") throw new Error(`its result is a ${ev.type} event`);
    return ev;
  }

  private end(jobId: string, code: RunnerErrorCode, message: string): void {
    const p = this.pending.get(jobId);
    if (!p) return;
    this.pending.delete(jobId);
    const ev: ErrorEvent = { type: "error", runId: p.runId, seq: p.seq++, code, message };
    p.sink(ev);
    p.finish(ev);
  }
}

/**
 * Clears what a previous server on this prefix left (it may have been killed mid-run; its runs are
 * interrupted and resume with new job ids): waiting jobs are dropped, active ones cancelled so their
 * runners stop at the next batch, and results nobody will read deleted (a 7B partial is ~310 MiB of Redis memory).
 */
async function dropOrphans(queue: Queue<ShardJobData>, redis: Redis, prefix: string): Promise<void> {
  await queue.drain(true);
  for (const job of await queue.getActive()) {
    if (!job.id) continue;
    await redis.set(cancelledKey(prefix, job.id), "1", "EX", RESULT_TTL_S);
    await redis.publish(cancelChannel(prefix), job.id);
  }
  for await (const keys of redis.scanStream({ match: resultKey(prefix, "*"), count: 100 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
}
