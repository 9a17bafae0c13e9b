/**
 * A runner serving the work queue (`skillscope runner --queue URL --model DIR`): takes one shard
 * job at a time from BullMQ, runs it in a worker thread (server/runs/shard-worker), reports its
 * progress as job progress and stores its `done` (with the shard's partial statistics) under the
 * job's result keys. While the job runs, BullMQ renews its lease; if this process dies the lease
 * lapses and another runner takes the job. A cancel on the broker's channel stops the job at its
 * next batch.
 */
import { hostname } from "node:os";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import { Redis, type RedisOptions as RedisClientOptions } from "ioredis";
import { decodeFrame, encodeFrame } from "../../gpu-runner/runner/codec.js";
import { startRunInWorker, type RunHandle } from "../../gpu-runner/runner/host.js";
import type { RunnerEvent } from "../../gpu-runner/runner/protocol.js";
import { isShardDone, type ShardJob } from "../runs/shard-job.js";
import { SHARD_WORKER_URL } from "../runs/shard-pool.js";
import { cancelChannel, cancelledKey, DEFAULT_PREFIX, redisOptions, SHARD_QUEUE, writeResult, type ResultRef } from "./broker.js";
import type { ShardJobData } from "./queue-pool.js";

export interface QueueRunnerOptions {
  /** This machine's copy of the model: replaces the server's model folder in every job. */
  readonly modelDir?: string;
  readonly threads?: number;
  readonly device?: "cpu" | "cuda";
  readonly compute?: "f32" | "f16";
  /** The job lease in ms (default 30000): a dead runner's job is redone after about this long. */
  readonly leaseMs?: number;
  /** This machine's path of the server's activation lake: replaces the location in every job that has one. */
  readonly lakeLocation?: string;
  readonly prefix?: string;
  /** A line per job taken, done, failed or cancelled (default: none). */
  readonly log?: (line: string) => void;
  /** Shows in the logs and as the job's processedBy (default hostname:pid). */
  readonly name?: string;
}

export interface QueueRunner {
  /** Stops taking jobs, cancels the one in flight and closes the connections. */
  close(): Promise<void>;
}

/** How long close() waits for the job in flight to stop and BullMQ to let go. */
const CLOSE_GRACE_MS = 5000;

/** Progress reports to the broker at most this often (the last one always goes). */
const PROGRESS_EVERY_MS = 200;

export async function startQueueRunner(url: string, options: QueueRunnerOptions = {}): Promise<QueueRunner> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const connection = redisOptions(url);
  const log = options.log ?? (() => {});
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const redis = new Redis(connection as RedisClientOptions);
  const subscriber = new Redis(connection as RedisClientOptions);
  const inFlight = new Map<string, RunHandle>();
  await subscriber.subscribe(cancelChannel(prefix));
  subscriber.on("message", (_channel: string, jobId: string) => inFlight.get(jobId)?.cancel());

  const processJob = async (job: Job<ShardJobData>): Promise<ResultRef> => {
    const jobId = job.id!;
    if (await redis.exists(cancelledKey(prefix, jobId))) throw new UnrecoverableError(`CANCELLED: shard job ${jobId} was cancelled`);
    const frame = Buffer.from(job.data.frame, "base64");
    const shard = decodeFrame<ShardJob>(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    const withModel: ShardJob = options.modelDir === undefined
      ? shard
      : { ...shard, start: { ...shard.start, model: { kind: "onnx", dir: options.modelDir, threads: options.threads, device: options.device, compute: options.compute } } };
    const local: ShardJob = shard.lake && options.lakeLocation !== undefined ? { ...withModel, lake: { ...shard.lake, location: options.lakeLocation } } : withModel;
    log(`${name} took shard job ${jobId}`);
    let lastProgress = 0;
    const handle = startRunInWorker(local, (ev: RunnerEvent) => {
      if (ev.type !== "progress") return;
      const now = Date.now();
      if (now - lastProgress < PROGRESS_EVERY_MS && ev.step < ev.totalSteps) return;
      lastProgress = now;
      const { type: _t, runId: _r, seq: _s, ...payload } = ev;
      void job.updateProgress(payload).catch(() => undefined);
    }, { workerUrl: SHARD_WORKER_URL });
    inFlight.set(jobId, handle);
    // a cancel published before this runner subscribed to the job still reaches it through the key
    if (await redis.exists(cancelledKey(prefix, jobId))) handle.cancel();
    try {
      const terminal = await handle.done;
      if (!isShardDone(terminal)) {
        log(`${name} shard job ${jobId} ended ${terminal.type === "error" ? terminal.code : terminal.type}`);
        throw new UnrecoverableError(terminal.type === "error" ? `${terminal.code}: ${terminal.message}` : `INTERNAL: shard job ended without its partial`);
      }
      const ref = await writeResult(redis, prefix, jobId, encodeFrame(terminal));
      log(`${name} finished shard job ${jobId}`);
      return ref;
    } finally {
      inFlight.delete(jobId);
    }
  };

  const lease = options.leaseMs ?? 30000;
  const worker = new Worker<ShardJobData, ResultRef>(SHARD_QUEUE, processJob, {
    connection, prefix, concurrency: 1, name,
    lockDuration: lease,
    stalledInterval: Math.max(500, Math.floor(lease / 2)),
    // a shard whose runners keep dying is given up after this many leases, not retried forever
    maxStalledCount: 5,
  });
  worker.on("error", (e) => log(`${name} queue error: ${e.message}`));
  await worker.waitUntilReady();
  return {
    async close() {
      for (const h of inFlight.values()) h.cancel();
      // with the broker gone, BullMQ's close would wait on reconnects forever
      await Promise.race([worker.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
      subscriber.disconnect();
      redis.disconnect();
      await worker.disconnect().catch(() => undefined);
    },
  };
}
