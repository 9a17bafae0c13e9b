import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadMigrations, migrate } from "../../../server/store/migrations.js";
import { Store } from "../../../server/store/store.js";

/**
 * Sample identity in a database written before ordinals existed: opening it numbers each (task,
 * split) in insertion order, the order the runs of that version keyed their activations by, and
 * corrects max |r| p-values for the positions they were chosen from.
 */
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-ordinal-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a version-1 database gets ordinals per (task, split) in insertion order, and Sidak p for its max |r| scores", async () => {
  const path = join(dir, "old.duckdb");
  {
    const db = await DuckDBInstance.create(path);
    const conn = await db.connect();
    await migrate(conn, loadMigrations().slice(0, 1));
    await conn.run("INSERT INTO tasks (name, source, template) VALUES ('t', 'x', '{x}')");
    // interleaved splits and ids in no order; a second task interleaved too
    const rows = [["z", "val"], ["a", "train"], ["m", "val"], ["q", "val"], ["b", "train"]];
    for (const [id, split] of rows) await conn.run(`INSERT INTO samples VALUES (1, '${id}', '${split}', '{}', '${id}', NULL, NULL)`);
    await conn.run("INSERT INTO samples VALUES (2, 'other', 'val', '{}', 'o', NULL, NULL)");
    await conn.run("INSERT INTO samples VALUES (1, 'c', 'val', '{}', 'c', NULL, NULL)");
    await conn.run("INSERT INTO runs (model_id, task_id, config, status) VALUES (1, 1, '{}', 'done')");
    await conn.run("INSERT INTO metric_catalogue (run_id, name, kind) VALUES (1, 'm', 'column')");
    await conn.run("INSERT INTO metrics VALUES (1, 'm', 'c', 4), (1, 'm', 'z', 1), (1, 'm', 'q', 3)");
    for (const [p, r] of [[0, 0.1], [1, 0.3], [2, 0.2]]) await conn.run(`INSERT INTO scores VALUES (1, 'm', 'position', 0, ${p}, 0, ${r}, 0.01)`);
    await conn.run("INSERT INTO scores VALUES (1, 'm', 'max_abs_r', 0, 1, 0, 0.3, 0.01)");
    conn.closeSync();
    db.closeSync();
  }
  const store = await Store.open(path);
  try {
    assert.deepEqual((await store.listSamples(1, "val")).map((s) => [s.sampleId, s.ordinal]), [["z", 0], ["m", 1], ["q", 2], ["c", 3]]);
    assert.deepEqual((await store.listSamples(1, "train")).map((s) => [s.sampleId, s.ordinal]), [["a", 0], ["b", 1]]);
    assert.deepEqual((await store.listSamples(2)).map((s) => [s.sampleId, s.ordinal]), [["other", 0]]);
    const aligned = await store.readMetricAligned(1, "m");
    assert.deepEqual(aligned.sampleId, ["z", "m", "q", "c"]);
    assert.deepEqual(Array.from(aligned.value), [1, Number.NaN, 3, 4]);
    // rows added now continue each split's numbering
    await store.addSamples(1, [{ sampleId: "d", split: "val", fields: {}, rendered: "d", answer: null, label: null }]);
    assert.deepEqual((await store.listSamples(1, "val")).at(-1), { ordinal: 4, sampleId: "d", split: "val", fields: {}, rendered: "d", answer: null, label: null });
    const [best] = (await store.queryScores(1, { agg: "max_abs_r", first: 1 })).rows;
    assert.equal(best!.p, 0.01);
    assert.ok(Math.abs(best!.pCorrected! - (1 - 0.99 ** 3)) < 1e-12, `pCorrected ${best!.pCorrected}`);
  } finally {
    await store.close();
  }
});
