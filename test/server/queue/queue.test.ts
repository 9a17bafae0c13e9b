import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { QueueEvents } from "bullmq";
import { ReservoirSet } from "../../../server/analysis/index.js";
import { DEFAULT_PREFIX, redisOptions, SHARD_QUEUE } from "../../../server/queue/broker.js";
import { QueueShardPool } from "../../../server/queue/queue-pool.js";
import { decodeReservoirs } from "../../../server/runs/reservoir-codec.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import type { RunOptions } from "../../../server/runs/run-options.js";
import type { ScoreAgg } from "../../../server/store/scores.js";
import { Store } from "../../../server/store/store.js";
import { startRedis, type RedisBroker } from "./redis-broker.js";

/**
 * The work queue against a real broker (redis-server started here) with runners in separate
 * processes (`skillscope runner --queue URL`): a runner killed with kill -9 mid-shard has its shard
 * redone by a runner that joined late, nothing counted twice (scores equal a one-runner run within
 * 1e-9); a cancel reaches every runner and empties the queue.
 */
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const CLI = fileURLToPath(new URL("../../../clients/cli/main.js", import.meta.url));
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
  const rows = readFileSync(join(planted, "task.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  taskId = await store.addTask({ name: "colours", source: "task.jsonl", template: "{text} question", verbalizer: { 0: "no", 1: "yes" } });
  await store.addSamples(taskId, rows.map((r) => ({
    sampleId: r.id, split: r.split, fields: { text: r.text, colors: r.colors }, rendered: `${r.text} question`,
    answer: r.label ? "yes" : "no", label: String(r.label),
  })));
});

after(async () => {
  for (const c of children) c.kill("SIGKILL");
  await store?.close();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface RunnerProcess {
  readonly child: ChildProcess;
  log(): string;
  /** Resolves when the runner's stderr matches. */
  until(pattern: RegExp): Promise<void>;
}

function startRunner(name: string): Promise<RunnerProcess> {
  const child = spawn(process.execPath, [CLI, "runner", "--queue", broker.url, "--model", join(planted, "model"), "--threads", "1", "--lease-ms", String(LEASE_MS)], { stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let err = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stderr!.on("data", (d: Buffer) => {
    err += String(d);
    for (const w of [...waiters]) if (w.pattern.test(err)) w.resolve();
  });
  const proc: RunnerProcess = {
    child,
    log: () => err,
    until: (pattern) => new Promise((resolve, reject) => {
      if (pattern.test(err)) return resolve();
      waiters.push({ pattern, resolve });
      child.once("exit", (code) => reject(new Error(`runner ${name} exited (${code}) before ${pattern}: ${err}`)));
    }),
  };
  return proc.until(/taking shard jobs/).then(() => proc);
}

async function allScores(runId: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await store.listMetrics(runId)) {
    for (const agg of ["position", "max_abs_r", "max_act"] as ScoreAgg[]) {
      const page = await store.queryScores(runId, { metric: m.name, agg, first: 1000 });
      assert.equal(page.hasNextPage, false);
      for (const s of page.rows) out.set(`${m.name}/${agg}/L${s.layer}.N${s.neuron}@${s.position}`, s.r);
    }
  }
  return out;
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

  const a = await startRunner("A");
  const pool = await QueueShardPool.open(broker.url);
  const manager = new RunManager(store, { shards: pool });
  const events = new QueueEvents(SHARD_QUEUE, { connection: redisOptions(broker.url), prefix: DEFAULT_PREFIX });
  await events.waitUntilReady();
  let killedJob = "";
  let late: Promise<RunnerProcess> | undefined;
  events.once("active", ({ jobId }) => {
    killedJob = jobId;
    a.child.kill("SIGKILL");
    late = startRunner("B");
  });
  try {
    const id = await runToEnd(manager, { ...OPTIONS, shards: 3 });
    const run = await store.getRun(id);
    assert.equal(run.status, "done", `${run.status}: ${run.error}`);
    const b = await late!;
    assert.doesNotMatch(a.log(), /finished shard job/, "the killed runner finished nothing");
    assert.match(b.log(), new RegExp(`finished shard job ${killedJob.replace(/\./g, "\\.")}`), "the late runner redid the killed shard");
    assert.equal((b.log().match(/finished shard job/g) ?? []).length, 3, "the late runner took every shard");

    const [ref, got] = [await allScores(reference), await allScores(id)];
    assert.equal(got.size, ref.size);
    let worst = 0;
    for (const [k, r] of ref) worst = Math.max(worst, Math.abs(got.get(k)! - r));
    assert.ok(worst < 1e-9, `largest |r| difference ${worst}`);
    const refOut = await store.readSampleOutputs(reference);
    const out = await store.readSampleOutputs(id);
    assert.deepEqual(Array.from(out.sampleIdx), Array.from(refOut.sampleIdx), "each sample counted once");
    const [ra, rb] = await Promise.all([reference, id].map(async (r) => ReservoirSet.fromSnapshot(decodeReservoirs((await store.getReservoir(r, 0))!))));
    for (let neuron = 0; neuron < 64; neuron++) assert.deepEqual(rb.extremes(0, "max", neuron), ra.extremes(0, "max", neuron));
  } finally {
    await events.close();
    await manager.close();
    await Promise.all([...children].map((c) => new Promise((resolve) => {
      c.once("exit", resolve);
      c.kill("SIGTERM");
    })));
  }
});

test("cancel reaches every runner: both stop their shard, the waiting shards leave the queue, the runners stay up", { timeout: 90000 }, async () => {
  const [r1, r2] = await Promise.all([startRunner("C"), startRunner("D")]);
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
