import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { Store, StoreError } from "../../../server/store/index.js";
import { pattern, sameBits, storeWithRun, tempDir } from "./helpers.js";

describe("export and attach", () => {
  const tmp = tempDir();
  const exportDir = join(tmp.dir, "export");
  let store: Store;
  let runId: number;
  const P = 2;
  const F = 300;
  before(async () => {
    ({ store, runId } = await storeWithRun(join(tmp.dir, "db.duckdb")));
    for (const layer of [0, 3]) {
      for (let k = 0; k < 3; k++) {
        const sampleIdx = Int32Array.from({ length: 40 }, (_, i) => k * 40 + i);
        await store.ingestActivations(runId, { shard: 0, batchId: `b${k}`, layer, sampleIdx, nPositions: P, dFF: F, data: pattern(40 * P * F, layer * 10 + k) });
      }
    }
    const sampleId = Array.from({ length: 120 }, (_, i) => `s${i}`);
    await store.writeMetric(runId, { name: "label", kind: "builtin", description: "gold label", sampleId, value: Float64Array.from(sampleId, (_, i) => i % 2) });
    await store.writeSampleOutputs(runId, {
      sampleIdx: Int32Array.from(sampleId, (_, i) => i), sampleId, loss: Float64Array.from(sampleId, (_, i) => i / 3),
      goldProb: new Float64Array(120).fill(0.5), confidence: new Float64Array(120).fill(0.75), prediction: sampleId.map(() => "pos"), correct: new Uint8Array(120).fill(1),
      contentToken: Int32Array.from(sampleId, (_, i) => i % 2), contentLoss: Float64Array.from(sampleId, (_, i) => i / 7), contentConfidence: new Float64Array(120).fill(0.25),
    });
    await store.writeScores(runId, [
      { metric: "label", agg: "position", layer: 0, position: Int32Array.from({ length: F }, (_, i) => i % P), neuron: Int32Array.from({ length: F }, (_, i) => i), r: Float64Array.from({ length: F }, (_, i) => Math.cos(i)) },
    ]);
    await store.exportRun(runId, exportDir);
  });
  after(async () => {
    await store.close();
    tmp.cleanup();
  });

  it("writes hive-partitioned activations and the run's tables as Parquet", () => {
    assert.ok(readdirSync(join(exportDir, "activations", `run=${runId}`)).sort().join() === "layer=0,layer=3");
    for (const f of ["run.parquet", "samples.parquet", "outputs.parquet", "metrics.parquet", "scores.parquet"]) assert.ok(existsSync(join(exportDir, f)), f);
  });

  it("stores activations as FLOAT[] lists that plain DuckDB reads", async () => {
    const inst = await DuckDBInstance.create(":memory:");
    const conn = await inst.connect();
    const reader = await conn.runAndReadAll(
      `SELECT typeof(data), run, layer, count(*)::INTEGER FROM read_parquet('${exportDir}/activations/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY layer`,
    );
    assert.deepEqual(reader.getRowsJS(), [["FLOAT[]", BigInt(runId), 0n, 240], ["FLOAT[]", BigInt(runId), 3n, 240]]);
    conn.closeSync();
    inst.closeSync();
  });

  it("serves the same values through the store's read functions once attached", async () => {
    const attached = await Store.attachExport(exportDir);
    try {
      assert.equal(attached.readOnly, true);
      for (const layer of [0, 3]) {
        const a = await store.readActivations(runId, layer);
        const b = await attached.readActivations(runId, layer);
        assert.deepEqual(Array.from(b.sampleIdx), Array.from(a.sampleIdx));
        assert.ok(sameBits(b.data, a.data), `layer ${layer} activations differ`);
        for (const neuron of [0, 123, F - 1]) {
          assert.ok(sameBits((await attached.readNeuron(runId, layer, neuron)).data, (await store.readNeuron(runId, layer, neuron)).data));
        }
      }
      assert.deepEqual(await attached.queryScores(runId, { first: 20 }), await store.queryScores(runId, { first: 20 }));
      assert.deepEqual(await attached.readMetricAligned(runId, "label"), await store.readMetricAligned(runId, "label"));
      assert.deepEqual(await attached.listMetrics(runId), await store.listMetrics(runId));
      assert.deepEqual(await attached.readSampleOutputs(runId), await store.readSampleOutputs(runId));
      assert.deepEqual(Array.from((await attached.readSampleOutputs(runId)).contentToken!.subarray(0, 4)), [0, 1, 0, 1]);
      const run = await attached.getRun(runId);
      assert.equal(run.dFF, F);
      assert.equal(run.positions, P);
      await assert.rejects(attached.setRunStatus(runId, "running"), (e: StoreError) => e.code === "READ_ONLY");
    } finally {
      await attached.close();
    }
  });

  it("an export from before content-token outputs: no content scores, and its confidence read as confidence_first_position", async () => {
    // the same export as that version wrote it: outputs without the content columns, a builtin metric "confidence" and its scores
    const oldDir = join(tmp.dir, "export-v4");
    cpSync(exportDir, oldDir, { recursive: true });
    const inst = await DuckDBInstance.create(":memory:");
    const conn = await inst.connect();
    const rewrite = async (name: string, select: string) => {
      await conn.run(`COPY (${select.replaceAll("$f", `read_parquet('${exportDir}/${name}')`)}) TO '${oldDir}/${name}' (FORMAT parquet)`);
    };
    await rewrite("outputs.parquet", "SELECT * EXCLUDE (content_token, content_loss, content_confidence) FROM $f");
    await rewrite("metrics.parquet", "SELECT * FROM $f UNION ALL SELECT * REPLACE ('confidence' AS name, 'first position' AS description, 0.75 AS value) FROM $f");
    await rewrite("scores.parquet", "SELECT * FROM $f UNION ALL SELECT * REPLACE ('confidence' AS metric) FROM $f WHERE neuron < 3");
    conn.closeSync();
    inst.closeSync();
    const attached = await Store.attachExport(oldDir);
    try {
      assert.deepEqual((await attached.listMetrics(runId)).map((m) => m.name), ["confidence_first_position", "label"]);
      assert.ok(Array.from((await attached.readMetricAligned(runId, "confidence_first_position")).value).every((v) => v === 0.75));
      assert.equal((await attached.queryScores(runId, { metric: "confidence_first_position", first: 10 })).rows.length, 3);
      assert.equal((await attached.queryScores(runId, { metric: "confidence", first: 10 })).rows.length, 0);
      const outputs = await attached.readSampleOutputs(runId);
      assert.equal(outputs.contentToken, undefined);
      assert.deepEqual(Array.from(outputs.loss), Array.from((await store.readSampleOutputs(runId)).loss));
    } finally {
      await attached.close();
    }
  });

  it("refuses a non-empty folder and a folder that is no export", async () => {
    await assert.rejects(store.exportRun(runId, exportDir), (e: StoreError) => e.code === "INVALID_INPUT" && /not empty/.test(e.message));
    await assert.rejects(Store.attachExport(tmp.dir), (e: StoreError) => e.code === "NOT_FOUND");
    await assert.rejects(store.exportRun(4321, join(tmp.dir, "x")), (e: StoreError) => e.code === "NOT_FOUND");
  });

  it("attaching a remote export without httpfs installed fails with the install command, downloading nothing", async () => {
    // DuckDB looks for extensions under $HOME/.duckdb: an empty home has none, whatever this machine has installed.
    const home = process.env.HOME;
    process.env.HOME = join(tmp.dir, "empty-home");
    try {
      await assert.rejects(Store.attachExport("s3://skillscope-test/run-1"), (e: StoreError) => {
        assert.equal(e.code, "NOT_FOUND");
        assert.match(e.message, /^reading s3:\/\/skillscope-test\/run-1 needs DuckDB's httpfs extension, which is not installed; install it once with: node -e .*INSTALL httpfs/);
        assert.ok(!e.message.includes("\n"), "one line");
        return true;
      });
      assert.ok(!existsSync(join(tmp.dir, "empty-home", ".duckdb")), "nothing was downloaded");
    } finally {
      process.env.HOME = home;
    }
  });
});
