import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { DuckDBArrayType, DuckDBDataChunk, DuckDBFloatType, DuckDBIntegerType, type DuckDBConnection } from "@duckdb/node-api";
import { activationSource } from "./activations.js";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";
import { lakeLayers } from "./lake-catalog.js";
import { migrate } from "./migrations.js";
import { arrayChildFloats, copyFloatRow, floatItems, typedItems } from "./vectors.js";

/*
 * Export layout (one run per folder; Spark/Trino/Polars/pandas read it as is):
 *   dir/activations/run=ID/layer=L/part-K.parquet  (sample_idx INTEGER, position INTEGER, data FLOAT[d_ff])
 *   dir/run.parquet  dir/model.parquet  dir/task.parquet  dir/samples.parquet  dir/outputs.parquet
 *   dir/metrics.parquet  dir/scores.parquet
 */

/** Rows per activation part file: ~64 MB of float32 values whatever d_ff is. */
const PART_BYTES = 64 << 20;

const q = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** The one command that installs httpfs (a download from DuckDB's extension site, into ~/.duckdb). */
export const HTTPFS_INSTALL = `node -e "import('@duckdb/node-api').then(async (d) => (await (await d.DuckDBInstance.create()).connect()).run('INSTALL httpfs'))"`;

function isRemote(dir: string): boolean {
  return /^(s3|gs|r2|https?):\/\//.test(dir);
}

/** Decodes BLOB rows into a FLOAT[d_ff] staging table and writes it as Parquet part files. */
async function exportLayer(db: Db, w: DuckDBConnection, runId: number, layer: number, dFF: number, folder: string): Promise<void> {
  mkdirSync(folder, { recursive: true });
  await w.run(`CREATE OR REPLACE TEMP TABLE export_stage (sample_idx INTEGER, position INTEGER, data FLOAT[${dFF}])`);
  const types = [DuckDBIntegerType.instance, DuckDBIntegerType.instance, new DuckDBArrayType(DuckDBFloatType.instance, dFF)];
  const rowsPerPart = Math.max(1, Math.floor(PART_BYTES / (dFF * 4)));
  let part = 0;
  let staged = 0;
  const flushPart = async () => {
    await w.run(`COPY export_stage TO ${q(`${folder}/part-${part}.parquet`)} (FORMAT parquet)`);
    await w.run("DELETE FROM export_stage");
    part += 1;
    staged = 0;
  };
  await db.read(`exporting run ${runId} layer ${layer}`, async (r) => {
    const src = await activationSource(r, runId, layer, "blob");
    const result = await r.stream(`SELECT sample_idx::INTEGER, position::INTEGER, data ${src.from} ORDER BY sample_idx, position`, src.params);
    for await (const chunk of result) {
      const n = chunk.rowCount;
      const out = DuckDBDataChunk.create(types, n);
      for (const c of [0, 1]) {
        const v = out.getColumnVector(c);
        typedItems(v, Int32Array).set(typedItems(chunk.getColumnVector(c), Int32Array).subarray(0, n));
        v.flush();
      }
      const child = arrayChildFloats(out.getColumnVector(2));
      const floats = floatItems(child);
      const src = chunk.getColumnVector(2);
      for (let i = 0; i < n; i++) copyFloatRow(src, i, dFF, floats, i * dFF);
      child.flush();
      const appender = await w.createAppender("export_stage");
      appender.appendDataChunk(out);
      appender.flushSync();
      appender.closeSync();
      staged += n;
      if (staged >= rowsPerPart) await flushPart();
    }
  });
  if (staged > 0) await flushPart();
  await w.run("DROP TABLE export_stage");
}

/** Writes one run as Parquet under a local folder that must not exist or be empty. */
export async function exportRun(db: Db, runId: number, dir: string): Promise<void> {
  if (!Number.isInteger(runId)) throw new StoreError("INVALID_INPUT", `run id must be an integer, got ${runId}`);
  if (isRemote(dir)) throw new StoreError("INVALID_INPUT", `export writes local folders only; copy ${dir}'s content with your object-store tool afterwards`);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new StoreError("INVALID_INPUT", `export folder ${dir} is not empty; choose a new folder (one run per folder)`);
  }
  const run = await db.read(`exporting run ${runId}`, async (r) => {
    const rows = (await r.runAndReadAll("SELECT d_ff FROM runs WHERE id = $1", [runId])).getRows();
    if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${runId}`);
    const layers = (await r.runAndReadAll("SELECT DISTINCT layer::INTEGER FROM activations WHERE run_id = $1 ORDER BY 1", [runId])).getRows();
    // a run extracted into the activation lake has its activations there, not in the table
    const lake = await lakeLayers(r, runId);
    return { dFF: rows[0]![0] as number | null, layers: [...new Set([...layers.map((l) => l[0] as number), ...lake])].sort((a, b) => a - b) };
  });
  mkdirSync(dir, { recursive: true });
  // Export reads committed data and writes files only; it runs on the writer so its temp table is private.
  await db.writeFiles(`exporting run ${runId} to ${dir}`, async (w) => {
    const id = runId;
    await w.run(`COPY (SELECT * FROM runs WHERE id = ${id}) TO ${q(`${dir}/run.parquet`)} (FORMAT parquet)`);
    await w.run(`COPY (SELECT m.* FROM models m JOIN runs r ON m.id = r.model_id WHERE r.id = ${id}) TO ${q(`${dir}/model.parquet`)} (FORMAT parquet)`);
    await w.run(`COPY (SELECT t.* FROM tasks t JOIN runs r ON t.id = r.task_id WHERE r.id = ${id}) TO ${q(`${dir}/task.parquet`)} (FORMAT parquet)`);
    await w.run(`COPY (SELECT s.* FROM samples s JOIN runs r ON s.task_id = r.task_id WHERE r.id = ${id}) TO ${q(`${dir}/samples.parquet`)} (FORMAT parquet)`);
    await w.run(`COPY (SELECT * FROM sample_outputs WHERE run_id = ${id} ORDER BY sample_idx) TO ${q(`${dir}/outputs.parquet`)} (FORMAT parquet)`);
    await w.run(
      `COPY (SELECT m.run_id, m.name, c.kind, c.description, m.sample_id, m.value FROM metrics m
             JOIN metric_catalogue c ON c.run_id = m.run_id AND c.name = m.name WHERE m.run_id = ${id}) TO ${q(`${dir}/metrics.parquet`)} (FORMAT parquet)`,
    );
    await w.run(`COPY (SELECT * FROM scores WHERE run_id = ${id}) TO ${q(`${dir}/scores.parquet`)} (FORMAT parquet)`);
    for (const layer of run.layers) {
      await exportLayer(db, w, id, layer, run.dFF!, `${dir}/activations/run=${id}/layer=${layer}`);
    }
  });
}

/**
 * Builds, in an empty database, the store's tables as views over an exported folder, so the store's
 * read functions serve it. Remote folders (s3://, https://) need DuckDB's httpfs extension, installed
 * beforehand (HTTPFS_INSTALL): it is loaded, never downloaded.
 */
export async function attachViews(conn: DuckDBConnection, dir: string): Promise<void> {
  if (isRemote(dir)) {
    try {
      await conn.run("LOAD httpfs");
    } catch (err) {
      throw new StoreError("NOT_FOUND", `reading ${dir} needs DuckDB's httpfs extension, which is not installed; install it once with: ${HTTPFS_INSTALL}`, { cause: err });
    }
  } else if (!existsSync(`${dir}/run.parquet`)) {
    throw new StoreError("NOT_FOUND", `${dir} is not a skillscope export (no run.parquet); run exportRun first`);
  }
  await migrate(conn);
  const file = (name: string) => `read_parquet(${q(`${dir}/${name}`)})`;
  // An export from before migration 005 has no content-token outputs, and what it calls "confidence"
  // was read at the first answer position: its views say so, as migrating its database would have.
  const outputColumns = (await conn.runAndReadAll(`SELECT column_name FROM (DESCRIBE SELECT * FROM ${file("outputs.parquet")})`)).getRows().map((r) => r[0]);
  const beforeContent = !outputColumns.includes("content_token");
  const outputs = beforeContent
    ? `SELECT *, NULL::INTEGER AS content_token, NULL::DOUBLE AS content_loss, NULL::DOUBLE AS content_confidence FROM ${file("outputs.parquet")}`
    : `SELECT * FROM ${file("outputs.parquet")}`;
  const metricName = (column: string) => (beforeContent ? `CASE WHEN ${column} = 'confidence' THEN 'confidence_first_position' ELSE ${column} END` : column);
  const views: [string, string][] = [
    ["runs", `SELECT * FROM ${file("run.parquet")}`],
    ["models", `SELECT * FROM ${file("model.parquet")}`],
    ["tasks", `SELECT * FROM ${file("task.parquet")}`],
    ["samples", `SELECT * FROM ${file("samples.parquet")}`],
    ["sample_outputs", outputs],
    ["metrics", `SELECT run_id, ${metricName("name")} AS name, sample_id, value FROM ${file("metrics.parquet")}`],
    ["metric_catalogue", `SELECT DISTINCT run_id, ${metricName("name")} AS name, kind, description, NULL::TIMESTAMP AS created FROM ${file("metrics.parquet")}`],
    ["scores", `SELECT * REPLACE (${metricName("metric")} AS metric) FROM ${file("scores.parquet")}`],
  ];
  for (const [table, sql] of views) {
    await conn.run(`DROP TABLE ${table}`);
    await conn.run(`CREATE VIEW ${table} AS ${sql}`);
  }
  const acts = `SELECT run::INTEGER AS run_id, layer::INTEGER AS layer, sample_idx, position, data
                FROM read_parquet(${q(`${dir}/activations/*/*/*.parquet`)}, hive_partitioning = true)`;
  try {
    await conn.run(`CREATE VIEW activations_export AS ${acts}`);
  } catch (err) {
    if (!/No files found/i.test((err as Error).message)) throw err;
    return; // a run exported before extraction: keep the empty activations table
  }
  await conn.run("DROP TABLE activations");
  await conn.run("ALTER VIEW activations_export RENAME TO activations");
}
