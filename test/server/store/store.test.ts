import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { Store, StoreError } from "../../../server/store/index.js";
import { loadMigrations } from "../../../server/store/migrations.js";
import { Db } from "../../../server/store/db.js";
import { storeWithRun, tempDir } from "./helpers.js";

describe("store: schema, runs and records", () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "store.duckdb");
  let store: Store;
  let runId: number;
  before(async () => ({ store, runId } = await storeWithRun(path)));
  after(async () => {
    await store.close();
    tmp.cleanup();
  });

  it("applies every migration once and records it", async () => {
    const migrations = loadMigrations();
    assert.ok(migrations.length >= 1);
    await store.close();
    store = await Store.open(path); // second open: nothing to apply, data kept
    const inst = await DuckDBInstance.fromCache(path);
    const conn = await inst.connect();
    const rows = (await conn.runAndReadAll("SELECT version, name FROM schema_migrations ORDER BY version")).getRows();
    conn.closeSync();
    assert.deepEqual(rows, migrations.map((m) => [m.version, m.name]));
    assert.equal((await store.getRun(runId)).status, "queued");
  });

  it("refuses to open a missing file read-only", async () => {
    await assert.rejects(Store.open(join(tmp.dir, "nope.duckdb"), { readOnly: true }), (e: StoreError) => e.code === "NOT_FOUND");
  });

  it("moves runs through allowed status changes only", async () => {
    assert.equal((await store.setRunStatus(runId, "training")).status, "training");
    await assert.rejects(store.setRunStatus(runId, "queued"), (e: StoreError) => e.code === "INVALID_TRANSITION" && /training to queued/.test(e.message));
    await store.setRunStatus(runId, "extracting");
    const failed = await store.setRunStatus(runId, "failed", "NaN loss");
    assert.equal(failed.error, "NaN loss");
    await store.setRunStatus(runId, "queued");
    await store.setRunStatus(runId, "running");
    await store.setRunStatus(runId, "done");
    await assert.rejects(store.setRunStatus(runId, "running"), (e: StoreError) => e.code === "INVALID_TRANSITION");
    await assert.rejects(store.setRunStatus(4242, "running"), (e: StoreError) => e.code === "NOT_FOUND");
    const patched = await store.updateRun(runId, { neuronDefinition: "act(c_fc(x))", layers: [0, 1], timings: { trainS: 1.5 }, valFigures: { acc: 0.9 } });
    assert.equal(patched.neuronDefinition, "act(c_fc(x))");
    assert.deepEqual(patched.layers, [0, 1]);
    assert.deepEqual(patched.timings, { trainS: 1.5 });
    assert.deepEqual(patched.valFigures, { acc: 0.9 });
    assert.deepEqual(patched.config, { nSoft: 4 });
  });

  it("marks active runs interrupted when reopened", async () => {
    const other = await store.createRun({ modelId: 1, taskId: 1, config: {} });
    await store.setRunStatus(other, "scoring");
    const queued = await store.createRun({ modelId: 1, taskId: 1, config: {} });
    await store.close();
    store = await Store.open(path);
    assert.deepEqual(store.recoveredRuns, [other]);
    assert.equal((await store.getRun(other)).status, "interrupted");
    assert.equal((await store.getRun(queued)).status, "queued");
    assert.equal((await store.getRun(runId)).status, "done");
  });

  it("appends and lists events in sequence", async () => {
    assert.equal(await store.lastEventSeq(runId), 0);
    await store.appendEvents(runId, [{ seq: 1, payload: { step: 1, loss: 2.5 } }, { seq: 2, payload: { step: 2, loss: 2.0 } }]);
    assert.equal(await store.lastEventSeq(runId), 2);
    const events = await store.listEvents(runId);
    assert.deepEqual(events.map((e) => [e.seq, e.payload]), [[1, { step: 1, loss: 2.5 }], [2, { step: 2, loss: 2.0 }]]);
    assert.deepEqual((await store.listEvents(runId, 1)).map((e) => e.seq), [2]);
  });

  it("stores samples, sample outputs and metrics in bulk", async () => {
    const run = await store.getRun(runId);
    const n = 5000; // several appender chunks
    await store.addSamples(run.taskId, Array.from({ length: n }, (_, i) => ({
      sampleId: `s${i}`, split: i % 2 ? "val" : "train", fields: { text: `t'${i}` }, rendered: `r${i}`, answer: i % 3 ? "pos" : null, label: String(i % 2),
    })));
    const val = await store.listSamples(run.taskId, "val");
    assert.equal(val.length, n / 2);
    assert.deepEqual(val[0], { ordinal: 0, sampleId: "s1", split: "val", fields: { text: "t'1" }, rendered: "r1", answer: "pos", label: "1" });
    assert.deepEqual(val.slice(0, 3).map((s) => s.ordinal), [0, 1, 2]);
    const idx = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
    const loss = Float64Array.from(idx, (i) => i / 7);
    await store.writeSampleOutputs(runId, {
      sampleIdx: idx, sampleId: Array.from(idx, (i) => `s${i}`), loss, goldProb: Float64Array.from(idx, (i) => 1 / (i + 1)),
      confidence: Float64Array.from(idx, () => 0.5), prediction: Array.from(idx, (i) => (i % 2 ? "pos" : "neg")), correct: Uint8Array.from(idx, (i) => i % 2),
    });
    const out = await store.readSampleOutputs(runId);
    assert.deepEqual(Array.from(out.sampleIdx.subarray(0, 3)), [0, 1, 2]);
    assert.equal(out.loss[4999], 4999 / 7);
    assert.equal(out.goldProb[3], 1 / 4);
    assert.equal(out.prediction[3], "pos");
    assert.equal(out.correct[3], 1);
    await assert.rejects(
      store.writeSampleOutputs(runId, { ...out, loss: new Float64Array(3) }),
      (e: StoreError) => e.code === "INVALID_INPUT" && /loss has 3 entries/.test(e.message),
    );
    const values = Float64Array.from({ length: n }, (_, i) => (i === 7 ? NaN : i * 0.25));
    await store.writeMetric(runId, { name: "overlap", kind: "heuristic", description: "HANS lexical overlap", sampleId: Array.from({ length: n }, (_, i) => `s${i}`), value: values });
    // aligned to the val ordinals: ordinal j is sample s(2j+1); s7 (ordinal 3) has no value
    const overlap = await store.readMetricAligned(runId, "overlap");
    assert.equal(overlap.value.length, n / 2);
    assert.deepEqual(overlap.sampleId.slice(0, 3), ["s1", "s3", "s5"]);
    assert.deepEqual(Array.from(overlap.value.subarray(0, 3)), [0.25, 0.75, 1.25]);
    assert.ok(Number.isNaN(overlap.value[3]));
    await store.writeMetric(runId, { name: "overlap", kind: "heuristic", sampleId: ["s3"], value: Float64Array.of(3) }); // replaces
    const replaced = await store.readMetricAligned(runId, "overlap");
    assert.equal(replaced.value[1], 3);
    assert.equal(replaced.value.filter((v) => !Number.isNaN(v)).length, 1);
    await store.writeMetric(runId, { name: "len", kind: "builtin", sampleId: ["s1", "s3"], value: Float64Array.of(NaN, 2) });
    const len = await store.readMetricAligned(runId, "len");
    assert.ok(Number.isNaN(len.value[0]));
    assert.equal(len.value[1], 2);
    assert.deepEqual(await store.listMetrics(runId), [
      { name: "len", kind: "builtin", description: null },
      { name: "overlap", kind: "heuristic", description: null },
    ]);
    await assert.rejects(store.readMetricAligned(runId, "nope"), (e: StoreError) => e.code === "NOT_FOUND");
  });

  it("saves checkpoints and returns the latest; reservoirs are replaced per layer", async () => {
    assert.equal(await store.latestCheckpoint(runId), null);
    await store.saveCheckpoint(runId, 10, Float32Array.of(1, 2, 3), Uint8Array.of(9, 9));
    await store.saveCheckpoint(runId, 20, Float32Array.of(4, 5, 6, -0), null);
    const ck = await store.latestCheckpoint(runId);
    assert.equal(ck?.step, 20);
    assert.deepEqual(ck?.prompt, Float32Array.of(4, 5, 6, -0));
    assert.equal(ck?.resumeFrame, null);
    assert.ok(ck!.created instanceof Date && !Number.isNaN(ck!.created.getTime()));
    await store.putReservoir(runId, 3, Uint8Array.of(1, 2));
    await store.putReservoir(runId, 3, Uint8Array.of(7));
    assert.deepEqual(await store.getReservoir(runId, 3), Uint8Array.of(7));
    assert.equal(await store.getReservoir(runId, 4), null);
  });

  it("deletes a run with all its rows", async () => {
    await store.ingestActivations(runId, { shard: 0, batchId: "a", layer: 0, sampleIdx: Int32Array.of(0), nPositions: 1, dFF: 2, data: Float32Array.of(1, 2) });
    await store.writeScores(runId, [{ metric: "len", agg: "position", layer: 0, position: 0, neuron: Int32Array.of(0), r: Float64Array.of(0.5) }]);
    await store.deleteRun(runId);
    await assert.rejects(store.getRun(runId), (e: StoreError) => e.code === "NOT_FOUND");
    assert.equal(await store.latestCheckpoint(runId), null);
    assert.deepEqual(await store.listEvents(runId), []);
    assert.deepEqual(await store.listMetrics(runId), []);
    assert.equal((await store.readSampleOutputs(runId)).sampleIdx.length, 0);
    assert.equal(await store.getReservoir(runId, 3), null);
    await assert.rejects(store.deleteRun(runId), (e: StoreError) => e.code === "NOT_FOUND");
  });
});

describe("Db transactions", () => {
  it("roll back appender rows when the transaction throws", async () => {
    const db = await Db.open(":memory:", false);
    await db.write("setup", (c) => c.run("CREATE TABLE t (x INTEGER)").then(() => undefined));
    await assert.rejects(
      db.tx("failing", async (conn) => {
        const app = await conn.createAppender("t");
        app.appendInteger(1);
        app.endRow();
        app.flushSync();
        app.closeSync();
        throw new Error("boom after append");
      }),
      (e: StoreError) => e.code === "DUCKDB" && /boom/.test(e.message),
    );
    const n = await db.read("count", async (c) => (await c.runAndReadAll("SELECT count(*)::INTEGER FROM t")).getRows()[0]![0]);
    assert.equal(n, 0);
    await db.close();
  });
});

describe("Db memory", () => {
  it("caps DuckDB's buffer pool for a database file, not for an in-memory one", async () => {
    const tmp = tempDir();
    const limit = (db: Db) => db.read("limit", async (c) => (await c.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]![0]);
    const file = await Db.open(join(tmp.dir, "m.duckdb"), false);
    const memory = await Db.open(":memory:", false);
    try {
      assert.equal(await limit(file), "244.1 MiB"); // 256 MB
      assert.notEqual(await limit(memory), "244.1 MiB");
    } finally {
      await file.close();
      await memory.close();
      tmp.cleanup();
    }
  });
});

describe("migrations", () => {
  it("refuses gaps in numbering", async () => {
    const { mkdirSync, writeFileSync } = await import("node:fs");
    const tmp = tempDir();
    mkdirSync(join(tmp.dir, "m"));
    writeFileSync(join(tmp.dir, "m", "001_a.sql"), "CREATE TABLE a (x INTEGER);");
    writeFileSync(join(tmp.dir, "m", "003_c.sql"), "CREATE TABLE c (x INTEGER);");
    assert.throws(() => loadMigrations(join(tmp.dir, "m")), (e: StoreError) => e.code === "SCHEMA" && /without gaps/.test(e.message));
    tmp.cleanup();
  });

  it("rolls a failing migration back whole, and refuses a database newer than the code", async () => {
    const { migrate } = await import("../../../server/store/migrations.js");
    const db = await Db.open(":memory:", false);
    await db.write("t", async (conn) => {
      await assert.rejects(
        migrate(conn, [{ version: 1, name: "bad", sql: "CREATE TABLE a (x INTEGER); SELEC 1;" }]),
        (e: StoreError) => e.code === "SCHEMA" && /001_bad failed/.test(e.message),
      );
      const tables = (await conn.runAndReadAll("SELECT table_name FROM information_schema.tables WHERE table_name = 'a'")).getRows();
      assert.deepEqual(tables, []);
      assert.equal(await migrate(conn, [{ version: 1, name: "ok", sql: "CREATE TABLE a (x INTEGER);" }]), 1);
      await assert.rejects(migrate(conn, []), (e: StoreError) => e.code === "SCHEMA" && /newer/.test(e.message));
    });
    await db.close();
  });
});
