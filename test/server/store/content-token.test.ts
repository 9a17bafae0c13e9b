import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadMigrations, migrate } from "../../../server/store/migrations.js";
import { Store } from "../../../server/store/store.js";

/**
 * Content-token outputs in the store: written and read back per sample; absent (NULL) for outputs
 * reported without them; and a database from before them keeps what it called "confidence" (the first
 * answer position) under the name confidence_first_position in every table that names metrics.
 */
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-content-token-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a version-4 database: confidence becomes confidence_first_position in catalogue, values, scores and explanations; outputs have no content scores", async () => {
  const path = join(dir, "v4.duckdb");
  {
    const db = await DuckDBInstance.create(path);
    const conn = await db.connect();
    await migrate(conn, loadMigrations().slice(0, 4));
    await conn.run("INSERT INTO tasks (name, source, template) VALUES ('t', 'x', '{x}')");
    await conn.run("INSERT INTO samples (task_id, sample_id, split, fields, rendered, ordinal) VALUES (1, 'a', 'val', '{}', 'a', 0), (1, 'b', 'val', '{}', 'b', 1)");
    await conn.run("INSERT INTO runs (model_id, task_id, config, status) VALUES (1, 1, '{}', 'done'), (1, 1, '{}', 'done')");
    await conn.run("INSERT INTO sample_outputs VALUES (1, 0, 'a', 0.5, 0.6, 0.98, 'x', true), (1, 1, 'b', 0.7, 0.5, 0.99, 'y', false)");
    for (const run of [1, 2]) {
      await conn.run(`INSERT INTO metric_catalogue (run_id, name, kind, description) VALUES (${run}, 'confidence', 'builtin', 'old'), (${run}, 'loss', 'builtin', 'l')`);
      await conn.run(`INSERT INTO metrics VALUES (${run}, 'confidence', 'a', 0.98), (${run}, 'confidence', 'b', 0.99), (${run}, 'loss', 'a', 0.5)`);
      await conn.run(`INSERT INTO scores VALUES (${run}, 'confidence', 'max_abs_r', 0, 3, 7, 0.4, 0.01, 0.05), (${run}, 'loss', 'max_abs_r', 0, 3, 7, 0.2, 0.1, 0.4)`);
    }
    // run 2 already had a metric of the new name (a task column, say): nothing of it is renamed
    await conn.run("INSERT INTO metric_catalogue (run_id, name, kind, description) VALUES (2, 'confidence_first_position', 'column', 'c')");
    await conn.run(
      `INSERT INTO explanations (run_id, layer, neuron, metric, position, source, rank, feature_id, kind, description, words, held_out_samples)
       VALUES (1, 0, 7, 'confidence', 3, 'features', 1, 'f', 'word', 'd', ['w'], 10)`,
    );
    conn.closeSync();
    db.closeSync();
  }
  const store = await Store.open(path);
  try {
    const names = (await store.listMetrics(1)).map((m) => m.name);
    assert.deepEqual(names, ["confidence_first_position", "loss"]);
    assert.match((await store.listMetrics(1)).find((m) => m.name === "confidence_first_position")!.description!, /first answer position/);
    assert.deepEqual(Array.from((await store.readMetricAligned(1, "confidence_first_position")).value), [0.98, 0.99]);
    const scored = (await store.queryScores(1, { agg: "max_abs_r", metric: "confidence_first_position", first: 10 })).rows;
    assert.deepEqual(scored.map((s) => [s.neuron, s.r]), [[7, 0.4]]);
    assert.equal((await store.queryScores(1, { agg: "max_abs_r", metric: "confidence", first: 10 })).rows.length, 0);
    const explained = await store.searchExplanations({ runId: 1, layer: 0, neuron: 7, first: 10 });
    assert.deepEqual(explained.map((e) => e.metric), ["confidence_first_position"]);
    assert.deepEqual((await store.listMetrics(2)).map((m) => m.name).sort(), ["confidence", "confidence_first_position", "loss"]);
    const outputs = await store.readSampleOutputs(1);
    assert.deepEqual(Array.from(outputs.confidence), [0.98, 0.99]);
    assert.equal(outputs.contentToken, undefined, "no content scores were stored");
  } finally {
    await store.close();
  }
});

test("content scores round-trip per sample (NaN where no token carries content); outputs without them read back without them", async () => {
  const store = await Store.open(join(dir, "new.duckdb"));
  try {
    const base = { sampleId: ["a", "b", "c"], loss: Float64Array.of(1, 2, 3), goldProb: Float64Array.of(0.1, 0.2, 0.3), confidence: Float64Array.of(0.99, 0.98, 0.97), prediction: ["x", "y", "z"], correct: Uint8Array.of(1, 0, 1) };
    await store.writeSampleOutputs(1, {
      ...base, sampleIdx: Int32Array.of(0, 1, 2),
      contentToken: Int32Array.of(1, 0, -1), contentLoss: Float64Array.of(2.5, 2, Number.NaN), contentConfidence: Float64Array.of(0.4, 0.98, Number.NaN),
    });
    const got = await store.readSampleOutputs(1);
    assert.deepEqual(Array.from(got.contentToken!), [1, 0, -1]);
    assert.deepEqual(Array.from(got.contentLoss!), [2.5, 2, Number.NaN]);
    assert.deepEqual(Array.from(got.contentConfidence!), [0.4, 0.98, Number.NaN]);
    await store.writeSampleOutputs(2, { ...base, sampleIdx: Int32Array.of(0, 1, 2) });
    const old = await store.readSampleOutputs(2);
    assert.equal(old.contentToken, undefined);
    assert.equal(old.contentConfidence, undefined);
    assert.deepEqual(Array.from(old.confidence), [0.99, 0.98, 0.97]);
    await assert.rejects(store.writeSampleOutputs(3, { ...base, sampleIdx: Int32Array.of(0, 1, 2), contentToken: Int32Array.of(0), contentLoss: Float64Array.of(0), contentConfidence: Float64Array.of(0) }), /contentToken has 1 entries/);
  } finally {
    await store.close();
  }
});
