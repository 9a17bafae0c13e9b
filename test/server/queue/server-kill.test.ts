import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { DEFAULT_PREFIX, redisOptions, resultKey, SHARD_QUEUE } from "../../../server/queue/broker.js";
import { Store } from "../../../server/store/store.js";
import { gql, ok, PLANTED, registerPlanted, startRun, startServe, waitForStatus, writePlantedTask, type ServeChild } from "../../reliability/harness.js";
import { startRedis, type RedisBroker } from "./redis-broker.js";
import { assertSameResults, startRunner, stopAll } from "./runner-process.js";

/**
 * kill -9 of `skillscope serve --queue URL` (a child process) while its runners (separate
 * processes) hold shards of a run and one shard's partial has come back: the server restarted on the
 * same database file and broker finds the run INTERRUPTED, cancels the shard jobs the dead server
 * left (their runners stop them; no result is left behind), and resumeRun ends with every score within
 * 1e-9 of an uninterrupted run over the same queue, each sample counted once.
 */
const OPTIONS = { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 3, seed: 1, threads: 1, storage: "topk", reservoirK: 8 };
/** Longer than the server's restart, so the frozen runners still hold their leases when they wake. */
const LEASE_MS = 10_000;
const SHARDS = 4;
const VAL_COPIES = 2; // 300 val rows: 4 shards of 75, 5 extraction batches each

let tmp: string;
let broker: RedisBroker;
let redis: Redis;
const children = new Set<ChildProcess>();
const servers: ServeChild[] = [];

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "skillscope-queue-kill-"));
  broker = await startRedis(tmp);
  redis = new Redis(redisOptions(broker.url));
});

after(async () => {
  for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.kill();
  for (const c of children) c.kill("SIGKILL");
  await redis?.quit();
  await broker?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function serve(dataDir: string): Promise<ServeChild> {
  const s = await startServe(dataDir, ["--model-root", PLANTED, "--task-root", tmp, "--queue", broker.url, "--shards", String(SHARDS)]);
  servers.push(s);
  return s;
}

async function finish(server: ServeChild, runId: string): Promise<void> {
  const end = await waitForStatus(server.url, server.token, runId, ["DONE"], 120_000);
  assert.equal(end.status, "DONE", `run ${runId} ended ${end.status}: ${end.error}`);
}

async function jobCounts(): Promise<Record<string, number>> {
  const queue = new Queue(SHARD_QUEUE, { connection: redisOptions(broker.url), prefix: DEFAULT_PREFIX });
  try {
    return await queue.getJobCounts("waiting", "active", "completed");
  } finally {
    await queue.close();
  }
}

test("a server killed mid-run over the queue restarts with the run INTERRUPTED and its orphaned shard jobs cancelled; resumeRun gives the uninterrupted scores within 1e-9", { timeout: 180_000 }, async () => {
  const taskFile = writePlantedTask(tmp, VAL_COPIES);
  const dataDir = join(tmp, "data");
  const [r1, r2] = await Promise.all([startRunner(broker.url, "A", LEASE_MS, children), startRunner(broker.url, "B", LEASE_MS, children)]);
  try {
    const first = await serve(dataDir);
    const ids = await registerPlanted(first.url, first.token, taskFile);
    const runId = await startRun(first.url, first.token, ids, OPTIONS);
    // a runner has returned one shard (merged in the server's memory only) and taken another; both
    // runners are frozen across the kill and the restart, so jobs of the dead server are still in
    // flight when the new server opens the queue (as a 7B shard, minutes long, would be)
    await Promise.race([r1, r2].map((r) => r.until(/took shard job[\s\S]*took shard job/)));
    for (const r of [r1, r2]) r.child.kill("SIGSTOP");
    await first.kill();
    await new Promise((r) => setTimeout(r, 300)); // what the runners wrote before the freeze reaches us
    const orphans = [r1, r2].flatMap((r) => [...r.log().matchAll(/took shard job (\S+)/g)].map((m) => m[1]).filter((id) => !r.log().includes(`finished shard job ${id}`)));
    assert.ok(orphans.length >= 1, "a runner holds a shard of the dead server");

    const second = await serve(dataDir);
    const run = ok(await gql<{ run: { status: string; error: string } }>(second.url, second.token, `{ run(id: "${runId}") { status error } }`)).run;
    assert.equal(run.status, "INTERRUPTED");
    assert.match(run.error, /server stopped/);
    for (const r of [r1, r2]) r.child.kill("SIGCONT");
    // the dead server's shards: waiting ones dropped, those in flight cancelled at their runner's next batch
    const deadline = Date.now() + 30_000;
    for (;;) {
      const c = await jobCounts();
      if (c.waiting === 0 && c.active === 0) break;
      assert.ok(Date.now() < deadline, `orphaned jobs still queued: ${JSON.stringify(c)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // the shard a runner had just taken is cancelled; one that was writing its result may finish (its result is dropped, below)
    const logs = r1.log() + r2.log();
    const cancelled = orphans.filter((id) => logs.includes(`shard job ${id} ended CANCELLED`));
    assert.ok(cancelled.length >= 1, `none of the dead server's shard jobs ${orphans.join(", ")} was cancelled:\n${logs}`);
    for (const id of orphans) assert.ok(cancelled.includes(id) || logs.includes(`finished shard job ${id}`), `shard job ${id} neither cancelled nor finished:\n${logs}`);

    ok(await gql(second.url, second.token, `mutation { resumeRun(id: "${runId}") { id } }`));
    await finish(second, runId);
    const reference = await startRun(second.url, second.token, ids, OPTIONS);
    await finish(second, reference);
    assert.equal(await second.stop(), 0);

    assert.deepEqual(await redis.keys(resultKey(DEFAULT_PREFIX, "*")), [], "no result is left in the broker");
    assert.deepEqual(await jobCounts(), { waiting: 0, active: 0, completed: 0 });
    const finished = (r1.log() + r2.log()).match(/finished shard job/g)?.length ?? 0;
    assert.ok(finished >= 2 * SHARDS + 1, `${finished} shard jobs finished over the three attempts`);
    const store = await Store.open(join(dataDir, "skillscope.duckdb"));
    try {
      await assertSameResults(store, Number(runId), Number(reference));
      assert.equal((await store.readSampleOutputs(Number(runId))).sampleIdx.length, 150 * VAL_COPIES);
      const [got, want] = [await store.getRun(Number(runId)), await store.getRun(Number(reference))];
      assert.equal(got.status, "done");
      assert.deepEqual(got.valFigures, want.valFigures);
    } finally {
      await store.close();
    }
    for (const r of [r1, r2]) assert.equal(r.child.exitCode, null, "runners stay up through the server's restart");
  } finally {
    for (const c of children) c.kill("SIGCONT");
    await stopAll(children);
  }
});
