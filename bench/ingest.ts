import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  blobValue,
  DuckDBBlobType,
  DuckDBDataChunk,
  DuckDBFloatType,
  DuckDBInstance,
  DuckDBIntegerType,
  DuckDBListType,
  listValue,
  type DuckDBConnection,
} from "@duckdb/node-api";
import { Store } from "../server/store/index.js";
import type { BenchResult } from "./result.js";

/*
 * Activation ingest into a DuckDB file, same data three ways, each into a fresh file and timed until
 * the file is closed (commit and checkpoint included):
 *   ours     Store.ingestActivations: validation, idempotency record, one transaction per batch, BLOB rows
 *   baseline DataChunk append of FLOAT[] lists, one transaction (the per-chunk appender path)
 *   ceiling  bare BLOB appender, one transaction, no validation or bookkeeping
 */

const SAMPLES = 400;
const POSITIONS = 20;
const D_FF = 3072;
const SAMPLES_PER_BATCH = 16;
const CHUNK_ROWS = 2048;
const ROWS = SAMPLES * POSITIONS;
const MB = (ROWS * D_FF * 4) / 1e6;

function makeData(): Float32Array {
  const data = new Float32Array(ROWS * D_FF);
  let x = 12345;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    data[i] = (x / 2 ** 32 - 0.5) * 4;
  }
  return data;
}

async function rawDb(path: string, ddl: string): Promise<{ inst: DuckDBInstance; conn: DuckDBConnection }> {
  const inst = await DuckDBInstance.create(path);
  const conn = await inst.connect();
  await conn.run(ddl);
  return { inst, conn };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function ours(dir: string, data: Float32Array): Promise<number> {
  const store = await Store.open(join(dir, "ours.duckdb"));
  const modelId = await store.addModel({ path: "/bench", family: "gpt2", config: {} });
  const taskId = await store.addTask({ name: "bench", source: "/bench", template: "{x}", verbalizer: null });
  const runId = await store.createRun({ modelId, taskId, config: {} });
  const rowsPerBatch = SAMPLES_PER_BATCH * POSITIONS;
  return timed(async () => {
    for (let s = 0; s < SAMPLES; s += SAMPLES_PER_BATCH) {
      const sampleIdx = Int32Array.from({ length: SAMPLES_PER_BATCH }, (_, i) => s + i);
      const slice = data.subarray((s / SAMPLES_PER_BATCH) * rowsPerBatch * D_FF, (s / SAMPLES_PER_BATCH + 1) * rowsPerBatch * D_FF);
      await store.ingestActivations(runId, { shard: 0, batchId: `b${s}`, layer: 0, sampleIdx, nPositions: POSITIONS, dFF: D_FF, data: slice });
    }
    await store.close();
  });
}

async function baseline(dir: string, data: Float32Array): Promise<number> {
  const { inst, conn } = await rawDb(join(dir, "lists.duckdb"), "CREATE TABLE a (run_id INTEGER, layer INTEGER, sample_idx INTEGER, position INTEGER, data FLOAT[])");
  const int = DuckDBIntegerType.instance;
  const types = [int, int, int, int, new DuckDBListType(DuckDBFloatType.instance)];
  return timed(async () => {
    await conn.run("BEGIN TRANSACTION");
    const appender = await conn.createAppender("a");
    for (let start = 0; start < ROWS; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, ROWS - start);
      const chunk = DuckDBDataChunk.create(types, n);
      const rows = Array.from({ length: n }, (_, i) => start + i);
      chunk.setColumnValues(0, rows.map(() => 1));
      chunk.setColumnValues(1, rows.map(() => 0));
      chunk.setColumnValues(2, rows.map((r) => Math.floor(r / POSITIONS)));
      chunk.setColumnValues(3, rows.map((r) => r % POSITIONS));
      chunk.setColumnValues(4, rows.map((r) => listValue(Array.from(data.subarray(r * D_FF, (r + 1) * D_FF)))));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
    appender.closeSync();
    await conn.run("COMMIT");
    conn.closeSync();
    inst.closeSync();
  });
}

async function ceiling(dir: string, data: Float32Array): Promise<number> {
  const { inst, conn } = await rawDb(join(dir, "blobs.duckdb"), "CREATE TABLE a (run_id INTEGER, layer INTEGER, sample_idx INTEGER, position INTEGER, data BLOB)");
  const int = DuckDBIntegerType.instance;
  const types = [int, int, int, int, DuckDBBlobType.instance];
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return timed(async () => {
    await conn.run("BEGIN TRANSACTION");
    const appender = await conn.createAppender("a");
    for (let start = 0; start < ROWS; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, ROWS - start);
      const chunk = DuckDBDataChunk.create(types, n);
      const rows = Array.from({ length: n }, (_, i) => start + i);
      chunk.setColumnValues(0, rows.map(() => 1));
      chunk.setColumnValues(1, rows.map(() => 0));
      chunk.setColumnValues(2, rows.map((r) => Math.floor(r / POSITIONS)));
      chunk.setColumnValues(3, rows.map((r) => r % POSITIONS));
      chunk.setColumnValues(4, rows.map((r) => blobValue(bytes.subarray(r * D_FF * 4, (r + 1) * D_FF * 4))));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
    appender.closeSync();
    await conn.run("COMMIT");
    conn.closeSync();
    inst.closeSync();
  });
}

/** MB/s of the store's activation ingest against the FLOAT[] list appender and a bare BLOB appender. */
export async function benchIngest(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "skillscope-bench-ingest-"));
  try {
    const data = makeData();
    const tBase = await baseline(dir, data);
    const tOurs = await ours(dir, data);
    const tCeil = await ceiling(dir, data);
    const mbps = (t: number) => MB / t;
    return {
      name: "activation ingest",
      figures: [
        { label: "activations into DuckDB file", ours: mbps(tOurs), peer: "DataChunk appender, FLOAT[] lists", peerValue: mbps(tBase), unit: "MB/s", ratio: tBase / tOurs },
        { label: "activations into DuckDB file (share of ceiling)", ours: mbps(tOurs), peer: "bare BLOB appender (ceiling)", peerValue: mbps(tCeil), unit: "MB/s", ratio: tCeil / tOurs },
      ],
      notes: [
        `${SAMPLES} samples x ${POSITIONS} positions x FLOAT[${D_FF}] = ${MB.toFixed(0)} MB, ${SAMPLES / SAMPLES_PER_BATCH} batches for ours; each path into a fresh file, timed to close (checkpoint included)`,
        "ours = Store.ingestActivations (validation incl. NaN scan, idempotency row, one transaction per batch, float32 BLOB rows)",
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
