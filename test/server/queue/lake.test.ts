import "reflect-metadata";
import { spawn, type ChildProcess } from "node:child_process";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { QueueEvents } from "bullmq";
import { DEFAULT_PREFIX, redisOptions, SHARD_QUEUE } from "../../../server/queue/broker.js";
import { QueueShardPool } from "../../../server/queue/queue-pool.js";
import { assertClose, serveAndAnswer } from "../../fixtures/lake-answers.js";
import { PLANTED_DIR } from "../../fixtures/planted-run.js";
import { startRedis, type RedisBroker } from "./redis-broker.js";

/**
 * The activation lake behind the work queue: a server (`serve --queue URL --lake DIR`) whose runners
 * (`skillscope runner --queue URL --lake DIR`, separate processes, the lake under another path on
 * "their machine") write every activation to Parquet, one of them killed with kill -9 mid-shard and
 * its shard redone by a runner that joins late, answers every activation read like a local run.
 */
const CLI = fileURLToPath(new URL("../../../clients/cli/main.js", import.meta.url));
const LEASE_MS = 1500;

let dir: string;
let broker: RedisBroker;
const children = new Set<ChildProcess>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-queue-lake-"));
  broker = await startRedis(dir);
});

after(async () => {
  for (const c of children) c.kill("SIGKILL");
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function startRunner(lake: string): { child: ChildProcess; log: () => string; ready: Promise<void> } {
  const child = spawn(process.execPath, [CLI, "runner", "--queue", broker.url, "--model", join(PLANTED_DIR, "model"), "--threads", "1", "--lease-ms", String(LEASE_MS), "--lake", lake], { stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let err = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += String(d);
      if (/taking shard jobs/.test(err)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`runner exited (${code}): ${err}`)));
  });
  ready.catch(() => undefined);
  return { child, log: () => err, ready };
}

test("over the queue with a lake, a runner killed mid-shard and a late runner: activation reads answer like a local run", { timeout: 180000 }, async () => {
  const local = await serveAndAnswer(dir, "local", undefined);

  // the runners' lake is the server's under another path (another machine's mount of the same store)
  const lakeDir = join(dir, "lake");
  mkdirSync(lakeDir);
  const serverView = join(dir, "server-mount");
  symlinkSync(lakeDir, serverView);
  const a = startRunner(lakeDir);
  await a.ready;
  const events = new QueueEvents(SHARD_QUEUE, { connection: redisOptions(broker.url), prefix: DEFAULT_PREFIX });
  await events.waitUntilReady();
  let late: ReturnType<typeof startRunner> | undefined;
  events.once("active", () => {
    a.child.kill("SIGKILL");
    late = startRunner(lakeDir);
  });
  try {
    const pool = await QueueShardPool.open(broker.url, { shardsPerRun: 3 });
    const lake = await serveAndAnswer(dir, "queue", { shards: pool, lake: { location: serverView, f16: false } });
    assert.doesNotMatch(a.log(), /finished shard job/, "the killed runner finished nothing");
    assert.equal((late!.log().match(/finished shard job/g) ?? []).length, 3, "the late runner did every shard");
    assert.ok(existsSync(join(lakeDir, "run=1", "layer=0", "shard=2", "part-0.parquet")));
    assertClose(lake, local, 1e-9);
  } finally {
    await events.close();
    await Promise.all([...children].map((c) => new Promise((resolve) => {
      c.once("exit", resolve);
      c.kill("SIGTERM");
    })));
  }
});
