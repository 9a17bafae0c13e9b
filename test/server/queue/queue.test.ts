import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { QueueEvents } from "bullmq";
import { DEFAULT_PREFIX, dropResult, redisOptions, resultKey, SHARD_QUEUE, takeResult, writeResult } from "../../../server/queue/broker.js";
import { QueueShardPool } from "../../../server/queue/queue-pool.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import type { RunOptions } from "../../../server/runs/run-options.js";
import { Store } from "../../../server/store/store.js";
import { startRedis, type RedisBroker } from "./redis-broker.js";
import { assertSameResults, startRunner, stopAll, type RunnerProcess } from "./runner-process.js";
import { addPlantedTask } from "../../fixtures/planted-run.js";

/**
 * The work queue against a real broker (redis-server started here) with runners in separate
 * processes (`skillscope runner --queue URL`): a runner killed with kill -9 mid-shard has its shard
 * redone by a runner that joined late, nothing counted twice (scores equal a one-runner run within
 * 1e-9); a cancel reaches every runner and empties the queue.
 */
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const planted = join(root, "test/fixtures/planted");
const OPTIONS: RunOptions = { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 3, seed: 1, threads: 1, storage: "topk", reservoirK: 8 };
const LEASE_MS = 1500;

let dir: string;
let broker: RedisBroker;
let store: Store;
let modelId: number;
let taskId: number;
const children = new Set<ChildProcess>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-queue-"));
  broker = await startRedis(dir);
  store = await Store.open(join(dir, "runs.duckdb"));
  modelId = await store.addModel({ path: join(planted, "model"), family: "gpt2", config: {} });
  taskId = await addPlantedTask(store);
});

after(async () => {
  for (const c of children) c.kill("SIGKILL");
  await store?.close();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function runner(name: string): Promise<RunnerProcess> {
  return startRunner(broker.url, name, LEASE_MS, children);
}

async function runToEnd(manager: RunManager, options: RunOptions): Promise<number> {
  const run = await manager.start({ modelId, taskId, options });
  await manager.whenIdle();
  return run.id;
}

test("a runner killed with kill -9 mid-shard has its shard redone by a late runner; scores equal one runner's within 1e-9", { timeout: 90000 }, async () => {
  const single = new RunManager(store);
  const reference = await runToEnd(single, OPTIONS);
  await single.close();

  const a = await runner("A");
  const pool = await QueueShardPool.open(broker.url);
  const manager = new RunManager(store, { shards: pool });
  const events = new QueueEvents(SHARD_QUEUE, { connection: redisOptions(broker.url), prefix: DEFAULT_PREFIX });
  await events.waitUntilReady();
  let killedJob = "";
  let late: Promise<RunnerProcess> | undefined;
  events.once("active", ({ jobId }) => {
    killedJob = jobId;
    a.child.kill("SIGKILL");
    late = runner("B");
  });
  try {
    const id = await runToEnd(manager, { ...OPTIONS, shards: 3 });
    const run = await store.getRun(id);
    assert.equal(run.status, "done", `${run.status}: ${run.error}`);
    const b = await late!;
    assert.doesNotMatch(a.log(), /finished shard job/, "the killed runner finished nothing");
    assert.match(b.log(), new RegExp(`finished shard job ${killedJob.replace(/\./g, "\\.")}`), "the late runner redid the killed shard");
    assert.equal((b.log().match(/finished shard job/g) ?? []).length, 3, "the late runner took every shard");

    await assertSameResults(store, id, reference);
  } finally {
    await events.close();
    await manager.close();
    await stopAll(children);
  }
});

test("cancel reaches every runner: both stop their shard, the waiting shards leave the queue, the runners stay up", { timeout: 90000 }, async () => {
  const [r1, r2] = await Promise.all([runner("C"), runner("D")]);
  const pool = await QueueShardPool.open(broker.url);
  const manager = new RunManager(store, { shards: pool });
  try {
    const run = await manager.start({ modelId, taskId, options: { ...OPTIONS, shards: 4 } });
    // both runners hold a shard (model loading or extracting) when the cancel goes out
    await Promise.all([r1.until(/took shard job/), r2.until(/took shard job/)]);
    await manager.cancel(run.id);
    await manager.whenIdle();
    assert.equal((await store.getRun(run.id)).status, "cancelled");
    await Promise.all([r1.until(/ended CANCELLED|finished shard job/), r2.until(/ended CANCELLED|finished shard job/)]);
    for (const r of [r1, r2]) {
      assert.match(r.log(), /ended CANCELLED/);
      assert.doesNotMatch(r.log(), /finished shard job/);
    }
    const { Queue } = await import("bullmq");
    const queue = new Queue(SHARD_QUEUE, { connection: redisOptions(broker.url), prefix: DEFAULT_PREFIX });
    const counts = await queue.getJobCounts("waiting", "active", "completed");
    await queue.close();
    assert.deepEqual(counts, { waiting: 0, active: 0, completed: 0 });
    assert.equal(r1.child.exitCode, null);
    assert.equal(r2.child.exitCode, null);
  } finally {
    await manager.close();
  }
});

test("a result larger than a chunk travels as several keys and comes back whole; a missing chunk is an error, not a short result", async () => {
  const { Redis } = await import("ioredis");
  const redis = new Redis(redisOptions(broker.url));
  try {
    const bytes = new Uint8Array(1000).map((_, i) => (i * 7919) % 251);
    const ref = await writeResult(redis, "chunks", "job-1", bytes, 64);
    assert.deepEqual(ref, { result: resultKey("chunks", "job-1"), chunks: 16, bytes: 1000 });
    assert.deepEqual(await takeResult(redis, ref), bytes);
    assert.deepEqual(await redis.keys("chunks:*"), [], "taken results leave no key behind");

    const broken = await writeResult(redis, "chunks", "job-2", bytes, 64);
    await redis.del(`${broken.result}:7`);
    await assert.rejects(takeResult(redis, broken), /chunk 7 of 16 is missing/);
    await dropResult(redis, broken);
    assert.deepEqual(await redis.keys("chunks:*"), []);
  } finally {
    redis.disconnect();
  }
});
