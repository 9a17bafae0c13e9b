/**
 * The work queue's names and connection: shard jobs are BullMQ jobs on Redis. A job's lease is
 * BullMQ's lock (renewed while the runner lives); a runner killed with kill -9 stops renewing, the
 * job stalls and another runner takes it. Results (a shard's partial statistics, megabytes) are
 * stored as one binary key each, not in the job hash; cancels travel on a pub/sub channel and a
 * per-job key (a runner that takes a cancelled job later sees the key).
 */
import type { RedisOptions } from "bullmq";

/** The BullMQ queue of shard jobs. */
export const SHARD_QUEUE = "shards";

/** Default key prefix; one server per prefix (when it opens the queue it clears the jobs and results a previous server left). */
export const DEFAULT_PREFIX = "skillscope";

/** Result keys live this long: a result no server reads (its server died) does not stay forever. */
export const RESULT_TTL_S = 24 * 3600;

export const cancelChannel = (prefix: string) => `${prefix}:cancel`;
export const cancelledKey = (prefix: string, jobId: string) => `${prefix}:cancelled:${jobId}`;
export const resultKey = (prefix: string, jobId: string) => `${prefix}:result:${jobId}`;

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
