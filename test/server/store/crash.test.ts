import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { Store } from "../../../server/store/index.js";
import { CHILD_SHAPE } from "./crash-child.js";
import { pattern, sameBits, tempDir } from "./helpers.js";

it("a process killed mid-ingest leaves whole batches only, and its run marked interrupted", async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "crash.duckdb");
  const child = fork(fileURLToPath(new URL("./crash-child.js", import.meta.url)), [path], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  let runId = -1;
  let committed = -1;
  await new Promise<void>((resolve, reject) => {
    child.on("message", (m: { runId?: number; committed?: number }) => {
      if (m.runId !== undefined) runId = m.runId;
      if (m.committed !== undefined) committed = m.committed;
      // kill after a few commits, at a moment when the next batch is being written
      if (committed >= 4) setTimeout(() => child.kill("SIGKILL"), 3);
    });
    child.on("exit", (_code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`child exited without being killed (${signal})`))));
  });
  const store = await Store.open(path);
  try {
    assert.deepEqual(store.recoveredRuns, [runId]);
    const run = await store.getRun(runId);
    assert.equal(run.status, "interrupted");
    const acts = await store.readActivations(runId, 0); // throws CORRUPT if a sample has missing position rows
    const { samplesPerBatch: b, positions: P, dFF: F } = CHILD_SHAPE;
    const batches = acts.sampleIdx.length / b;
    assert.ok(Number.isInteger(batches), `${acts.sampleIdx.length} samples is not a whole number of batches`);
    assert.ok(batches >= committed + 1, `batches reported committed (${committed + 1}) are missing (${batches} stored)`);
    for (let k = 0; k < batches; k++) {
      const slice = acts.data.subarray(k * b * P * F, (k + 1) * b * P * F);
      assert.ok(sameBits(slice, pattern(b * P * F, k + 1)), `batch ${k} differs`);
    }
    // the idempotency record agrees with the rows
    assert.equal((await store.ingestActivations(runId, { shard: 0, batchId: `b${batches - 1}`, layer: 0, sampleIdx: Int32Array.of(0), nPositions: P, dFF: F, data: new Float32Array(P * F) })).ingested, false);
  } finally {
    await store.close();
    tmp.cleanup();
  }
});

it("a second process gets a LOCKED error, and a second Store in this process too", async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "locked.duckdb");
  const store = await Store.open(path);
  try {
    const child = fork(fileURLToPath(new URL("./crash-child.js", import.meta.url)), [path, "open"], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
    const reply = await new Promise<{ code: string | null; message?: string }>((resolve) => child.once("message", (m) => resolve(m as { code: string | null })));
    child.kill();
    assert.equal(reply.code, "LOCKED", reply.message);
    assert.match(reply.message ?? "", /another process/);
    await assert.rejects(Store.open(path), (e: { code?: string }) => e.code === "LOCKED");
  } finally {
    await store.close();
    tmp.cleanup();
  }
});
