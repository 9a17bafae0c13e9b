/**
 * The work queue's names and connection: shard jobs are BullMQ jobs on Redis. A job's lease is
 * BullMQ's lock (renewed while the runner lives); a runner killed with kill -9 stops renewing, the
 * job stalls and another runner takes it. Results (a shard's partial statistics: megabytes for the
 * demo, ~310 MiB for a 7B model, gigabytes with 7B reservoirs) are binary keys of at most
 * RESULT_CHUNK_BYTES each, not in the job hash; cancels travel on a pub/sub channel and a per-job key
 * (a runner that takes a cancelled job later sees the key).
 */
import type { RedisOptions } from "bullmq";
import type { Redis } from "ioredis";

/** The BullMQ queue of shard jobs. */
export const SHARD_QUEUE = "shards";

/** Default key prefix; one server per prefix (when it opens the queue it clears the jobs and results a previous server left). */
export const DEFAULT_PREFIX = "skillscope";

/** Result keys live this long: a result no server reads (its server died) does not stay forever. */
export const RESULT_TTL_S = 24 * 3600;

export const cancelChannel = (prefix: string) => `${prefix}:cancel`;
export const cancelledKey = (prefix: string, jobId: string) => `${prefix}:cancelled:${jobId}`;
/** Every key of a job's result starts with this; chunk i is `${resultKey}:${i}`. */
export const resultKey = (prefix: string, jobId: string) => `${prefix}:result:${jobId}`;

/** The largest value written as one key: Redis refuses a bulk string over 512 MB (proto-max-bulk-len). */
export const RESULT_CHUNK_BYTES = 64 << 20;

/** What a finished job returns through BullMQ: where its result is. */
export interface ResultRef {
  readonly result: string;
  readonly chunks: number;
  readonly bytes: number;
}

/** Stores a job's result as chunk keys that expire after RESULT_TTL_S. */
export async function writeResult(redis: Redis, prefix: string, jobId: string, bytes: Uint8Array, chunkBytes = RESULT_CHUNK_BYTES): Promise<ResultRef> {
  const key = resultKey(prefix, jobId);
  const chunks = Math.max(1, Math.ceil(bytes.byteLength / chunkBytes));
  for (let i = 0; i < chunks; i++) {
    const part = bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes);
    await redis.set(`${key}:${i}`, Buffer.from(part.buffer, part.byteOffset, part.byteLength), "EX", RESULT_TTL_S);
  }
  return { result: key, chunks, bytes: bytes.byteLength };
}

/** Reads a result back whole (chunk by chunk into one array) and deletes it; throws when a chunk is missing or the wrong size. */
export async function takeResult(redis: Redis, ref: ResultRef): Promise<Uint8Array> {
  const out = new Uint8Array(ref.bytes);
  let at = 0;
  for (let i = 0; i < ref.chunks; i++) {
    const part = await redis.getBuffer(`${ref.result}:${i}`);
    if (!part) throw new Error(`its result chunk ${i} of ${ref.chunks} is missing`);
    if (at + part.byteLength > ref.bytes) throw new Error(`its result chunks hold more than the ${ref.bytes} bytes announced`);
    out.set(part, at);
    at += part.byteLength;
  }
  if (at !== ref.bytes) throw new Error(`its result holds ${at} bytes, ${ref.bytes} announced`);
  await dropResult(redis, ref);
  return out;
}

export async function dropResult(redis: Redis, ref: Pick<ResultRef, "result" | "chunks">): Promise<void> {
  await redis.del(...Array.from({ length: ref.chunks }, (_, i) => `${ref.result}:${i}`));
}

export class QueueUrlError extends Error {
  constructor(url: string, why: string) {
    super(`queue URL "${url}" ${why}; give redis://HOST:PORT[/DB] or redis+unix:///path/to/redis.sock`);
    this.name = "QueueUrlError";
  }
}

/** ioredis options for `redis://[user:password@]host[:port][/db]` or `redis+unix:///socket/path`. */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueUrlError(url, "is not a URL");
  }
  // BullMQ workers block on Redis; ioredis must wait for them rather than fail requests
  const common: RedisOptions = { maxRetriesPerRequest: null, lazyConnect: false };
  if (u.protocol === "redis+unix:") {
    if (!u.pathname || u.pathname === "/") throw new QueueUrlError(url, "names no socket path");
    return { ...common, path: decodeURIComponent(u.pathname) };
  }
  if (u.protocol !== "redis:") throw new QueueUrlError(url, `has scheme ${u.protocol}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new QueueUrlError(url, `has database "${u.pathname.slice(1)}", not an index`);
  return {
    ...common,
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}
