import { endianness } from "node:os";
import { blobValue, DuckDBBlobType, DuckDBDataChunk, DuckDBIntegerType, type DuckDBConnection } from "@duckdb/node-api";
import { neuronId } from "../../gpu-runner/neuron-id.js";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";
import { lakeRows } from "./lake-catalog.js";
import { copyFloatRow, readFloatScalar, typedItems } from "./vectors.js";

// Stored BLOBs are the raw bytes of a Float32Array: little-endian only where the host is.
if (endianness() !== "LE") throw new Error("skillscope store: activation BLOBs assume a little-endian host");

/** One runner batch: activations of `sampleIdx.length` samples at one layer. */
export interface ActivationBatch {
  /** Runner shard that produced it; (run, shard, batchId, layer) identifies the batch for idempotency. */
  shard: number;
  batchId: string;
  layer: number;
  /** [b] validation-set row index of each sample, distinct within the batch. */
  sampleIdx: Int32Array;
  /** Positions per sample (the runner's nPositions; its `positions` array of indices is not stored). */
  nPositions: number;
  dFF: number;
  /** [b, nPositions, dFF] */
  data: Float32Array;
}

export interface IngestResult {
  /** false when this batch id was already stored (nothing written). */
  ingested: boolean;
  rows: number;
}

/** Activations of one layer, samples in ascending sampleIdx. */
export interface LayerActivations {
  /** [N] */
  sampleIdx: Int32Array;
  positions: number;
  dFF: number;
  /** [N, positions, dFF] */
  data: Float32Array;
}

/** One neuron of one layer, samples in ascending sampleIdx. */
export interface NeuronActivations {
  /** [N] */
  sampleIdx: Int32Array;
  positions: number;
  /** [N, positions] */
  data: Float32Array;
}

/** 'blob': the database table (float32 BLOB); 'list': an attached Parquet export (FLOAT[]). */
export type ActivationLayout = "blob" | "list";

const CHUNK_ROWS = 2048;

function isNonNegInt(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0;
}

/** Throws INVALID_INPUT naming the field; runs before anything is written. */
export function validateBatch(runId: number, b: ActivationBatch): void {
  const bad = (field: string, why: string): never => {
    throw new StoreError("INVALID_INPUT", `activation batch ${String(b?.batchId)} of run ${runId}: ${field} ${why}; batch not stored`);
  };
  if (!isNonNegInt(b.shard)) bad("shard", "must be an integer >= 0");
  if (typeof b.batchId !== "string" || b.batchId.length === 0) bad("batchId", "must be a non-empty string");
  if (!isNonNegInt(b.layer)) bad("layer", "must be an integer >= 0");
  if (!isNonNegInt(b.nPositions) || b.nPositions === 0) bad("nPositions", "must be an integer >= 1");
  if (!isNonNegInt(b.dFF) || b.dFF === 0) bad("dFF", "must be an integer >= 1");
  if (!(b.sampleIdx instanceof Int32Array)) bad("sampleIdx", "must be an Int32Array");
  if (!(b.data instanceof Float32Array)) bad("data", "must be a Float32Array");
  const expected = b.sampleIdx.length * b.nPositions * b.dFF;
  if (b.data.length !== expected) {
    bad("data", `has ${b.data.length} values, expected sampleIdx.length ${b.sampleIdx.length} x nPositions ${b.nPositions} x dFF ${b.dFF} = ${expected}`);
  }
  const seen = new Set<number>();
  for (const s of b.sampleIdx) {
    if (s < 0) bad("sampleIdx", `contains negative index ${s}`);
    if (seen.has(s)) bad("sampleIdx", `contains ${s} twice`);
    seen.add(s);
  }
  for (let i = 0; i < b.data.length; i++) {
    if (!Number.isFinite(b.data[i]!)) {
      const row = Math.floor(i / (b.nPositions * b.dFF));
      bad("data", `has a non-finite value (${b.data[i]}) for sample ${b.sampleIdx[row]} at flat index ${i}`);
    }
  }
}

async function runShape(conn: DuckDBConnection, runId: number): Promise<{ positions: number | null; dFF: number | null }> {
  const rows = (await conn.runAndReadAll("SELECT positions, d_ff FROM runs WHERE id = $1", [runId])).getRows();
  if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${runId}`);
  return { positions: rows[0]![0] as number | null, dFF: rows[0]![1] as number | null };
}

/** Appends [rows] activation rows chunk by chunk: typed-array copies into vectors, one BLOB per row. */
async function appendRows(conn: DuckDBConnection, runId: number, b: ActivationBatch): Promise<number> {
  const P = b.nPositions;
  const rowBytes = b.dFF * 4;
  const bytes = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  const total = b.sampleIdx.length * P;
  const types = [DuckDBIntegerType.instance, DuckDBIntegerType.instance, DuckDBIntegerType.instance, DuckDBIntegerType.instance, DuckDBBlobType.instance];
  const appender = await conn.createAppender("activations");
  try {
    for (let start = 0; start < total; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, total - start);
      const chunk = DuckDBDataChunk.create(types, n);
      const run = chunk.getColumnVector(0);
      typedItems(run, Int32Array).fill(runId);
      run.flush();
      const layer = chunk.getColumnVector(1);
      typedItems(layer, Int32Array).fill(b.layer);
      layer.flush();
      const sample = chunk.getColumnVector(2);
      const pos = chunk.getColumnVector(3);
      const sampleItems = typedItems(sample, Int32Array);
      const posItems = typedItems(pos, Int32Array);
      const blob = chunk.getColumnVector(4);
      for (let i = 0; i < n; i++) {
        const r = start + i;
        sampleItems[i] = b.sampleIdx[Math.floor(r / P)]!;
        posItems[i] = r % P;
        blob.setItem(i, blobValue(bytes.subarray(r * rowBytes, (r + 1) * rowBytes)));
      }
      sample.flush();
      pos.flush();
      blob.flush();
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return total;
}

/** Stores one batch in one transaction; a batch already stored is a no-op. */
export async function ingestActivations(db: Db, runId: number, b: ActivationBatch): Promise<IngestResult> {
  validateBatch(runId, b);
  return db.tx(`ingesting activations of run ${runId}`, async (conn) => {
    const shape = await runShape(conn, runId);
    if ((shape.positions !== null && shape.positions !== b.nPositions) || (shape.dFF !== null && shape.dFF !== b.dFF)) {
      throw new StoreError(
        "INVALID_INPUT",
        `activation batch ${b.batchId}: positions ${b.nPositions} x dFF ${b.dFF} differ from run ${runId}'s ${shape.positions} x ${shape.dFF}; batch not stored`,
      );
    }
    const dup = await conn.runAndReadAll(
      "SELECT count(*)::INTEGER FROM ingested_batches WHERE run_id = $1 AND shard = $2 AND batch_id = $3 AND layer = $4",
      [runId, b.shard, b.batchId, b.layer],
    );
    if ((dup.getRows()[0]![0] as number) > 0) return { ingested: false, rows: 0 };
    if (shape.positions === null || shape.dFF === null) {
      await conn.run("UPDATE runs SET positions = $2, d_ff = $3, updated = current_timestamp WHERE id = $1", [runId, b.nPositions, b.dFF]);
    }
    await conn.run("INSERT INTO ingested_batches (run_id, shard, batch_id, layer, sample_count) VALUES ($1, $2, $3, $4, $5)", [
      runId,
      b.shard,
      b.batchId,
      b.layer,
      b.sampleIdx.length,
    ]);
    const rows = await appendRows(conn, runId, b);
    return { ingested: true, rows };
  });
}

/** Where (run, layer)'s activation rows are: SQL after SELECT ... (`FROM ... [WHERE ...]`), its parameters and data layout. */
export interface ActivationSource {
  from: string;
  params: number[];
  layout: ActivationLayout;
}

/** The run's lake files for that layer when it has any (FLOAT[] lists), else the activations table. */
export async function activationSource(conn: DuckDBConnection, runId: number, layer: number, layout: ActivationLayout): Promise<ActivationSource> {
  const lake = await lakeRows(conn, runId, layer);
  return lake ? { from: `FROM ${lake}`, params: [], layout: "list" } : { from: "FROM activations WHERE run_id = $1 AND layer = $2", params: [runId, layer], layout };
}

/** Distinct sample indices of (run, layer), ascending, with the row count check every read relies on. */
async function layerSamples(conn: DuckDBConnection, src: ActivationSource, runId: number, layer: number, positions: number): Promise<Int32Array> {
  const reader = await conn.runAndReadAll(`SELECT sample_idx::INTEGER, count(*)::INTEGER ${src.from} GROUP BY sample_idx ORDER BY sample_idx`, src.params);
  const rows = reader.getRows();
  const out = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    if (row[1] !== positions) {
      throw new StoreError("CORRUPT", `run ${runId} layer ${layer} sample ${row[0]} has ${row[1]} position rows, expected ${positions}`);
    }
    out[i] = row[0] as number;
  });
  return out;
}

async function readShape(conn: DuckDBConnection, runId: number): Promise<{ positions: number; dFF: number } | null> {
  const shape = await runShape(conn, runId);
  return shape.positions === null || shape.dFF === null ? null : { positions: shape.positions, dFF: shape.dFF };
}

function rankOf(sampleIdx: Int32Array): Map<number, number> {
  const m = new Map<number, number>();
  sampleIdx.forEach((s, i) => m.set(s, i));
  return m;
}

/** All activations of (run, layer) as one [N, P, F] array, copied chunk by chunk (no sort in SQL). */
export async function readActivations(db: Db, layout: ActivationLayout, runId: number, layer: number): Promise<LayerActivations> {
  return db.read(`reading activations of run ${runId} layer ${layer}`, async (conn) => {
    const shape = await readShape(conn, runId);
    if (!shape) return { sampleIdx: new Int32Array(0), positions: 0, dFF: 0, data: new Float32Array(0) };
    const { positions: P, dFF: F } = shape;
    const src = await activationSource(conn, runId, layer, layout);
    const sampleIdx = await layerSamples(conn, src, runId, layer, P);
    const rank = rankOf(sampleIdx);
    const data = new Float32Array(sampleIdx.length * P * F);
    const result = await conn.stream(`SELECT sample_idx::INTEGER, position::INTEGER, data ${src.from}`, src.params);
    for await (const chunk of result) {
      const s = typedItems(chunk.getColumnVector(0), Int32Array);
      const p = typedItems(chunk.getColumnVector(1), Int32Array);
      const values = chunk.getColumnVector(2);
      for (let i = 0; i < chunk.rowCount; i++) {
        copyFloatRow(values, i, F, data, (rank.get(s[i]!)! * P + p[i]!) * F);
      }
    }
    return { sampleIdx, positions: P, dFF: F, data };
  });
}

/** One neuron of (run, layer) as [N, P]; only its 4 bytes per row leave DuckDB. */
export async function readNeuron(db: Db, layout: ActivationLayout, runId: number, layer: number, neuron: number): Promise<NeuronActivations> {
  return db.read(`reading neuron ${neuronId(layer, neuron)} of run ${runId}`, async (conn) => {
    const shape = await readShape(conn, runId);
    if (!shape) return { sampleIdx: new Int32Array(0), positions: 0, data: new Float32Array(0) };
    if (!isNonNegInt(neuron) || neuron >= shape.dFF) {
      throw new StoreError("INVALID_INPUT", `neuron ${neuron} is out of range: run ${runId} has d_ff ${shape.dFF}`);
    }
    const P = shape.positions;
    const src = await activationSource(conn, runId, layer, layout);
    const sampleIdx = await layerSamples(conn, src, runId, layer, P);
    const rank = rankOf(sampleIdx);
    const value = src.layout === "blob" ? `data[${4 * neuron + 1}:${4 * neuron + 4}]` : `data[${neuron + 1}]`;
    const data = new Float32Array(sampleIdx.length * P);
    const result = await conn.stream(`SELECT sample_idx::INTEGER, position::INTEGER, ${value} ${src.from}`, src.params);
    for await (const chunk of result) {
      const s = typedItems(chunk.getColumnVector(0), Int32Array);
      const p = typedItems(chunk.getColumnVector(1), Int32Array);
      const v = chunk.getColumnVector(2);
      for (let i = 0; i < chunk.rowCount; i++) data[rank.get(s[i]!)! * P + p[i]!] = readFloatScalar(v, i);
    }
    return { sampleIdx, positions: P, data };
  });
}
