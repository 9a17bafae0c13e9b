/**
 * The activation lake: shard runners write a run's activations as Parquet under a shared location
 * (a local folder, or an s3:// prefix read and written through DuckDB's httpfs), in the hive layout
 *   location/run=R/layer=L/shard=S/part-K.parquet   (sample_idx INTEGER, position INTEGER, data FLOAT[d_ff])
 * and send the server only their statistics and the list of files (LakeFile[]). The server catalogs
 * those files (table lake_files) and reads exactly them wherever it needs activations.
 *
 * Idempotent by name: a shard's files are named by (run, layer, shard, part) only, and a part's
 * content is a function of the shard's rows, so a redone shard (its runner killed mid-shard)
 * replaces the files of the attempt before instead of adding to them. A local part is written to a
 * temporary name and renamed into place (a reader never sees half a file); an object store's PUT is
 * atomic by itself. Temporary names do not end in `.parquet`, so globs never match them.
 */
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { DuckDBArrayType, DuckDBDataChunk, DuckDBFloatType, DuckDBIntegerType, type DuckDBConnection } from "@duckdb/node-api";
import { Db } from "./db.js";
import { validateBatch } from "./activations.js";
import { StoreError } from "./errors.js";
import { isRemoteLocation, lakePath, lakeShardKey, loadHttpfs, sqlString, type LakeFile, type LakePrecision, type LakeTarget } from "./lake-catalog.js";
import { arrayChildFloats, floatItems, typedItems } from "./vectors.js";

/** Part files of about this many bytes of float32 values, whatever d_ff is. */
const PART_BYTES = 64 << 20;
const CHUNK_ROWS = 2048;
const F16_MAX = 65504;

/** One batch of activations at one layer, as a runner's `activations` event carries it. */
export interface LakeBatch {
  readonly layer: number;
  readonly sampleIdx: Int32Array;
  readonly nPositions: number;
  readonly dFF: number;
  /** [b, nPositions, dFF] */
  readonly data: Float32Array;
}

/**
 * Rounds float32 values to the nearest binary16 value (ties to even), in place: relative error at
 * most 2^-11 for |x| >= 2^-14, absolute error at most 2^-25 below. Throws for |x| > 65504.
 */
export function roundToF16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    const a = Math.abs(x);
    if (a >= 2 ** -14) {
      // normal binary16: keep 10 of float32's 23 mantissa bits, rounding the 13 dropped ones half to even
      const b = bits[i]!;
      bits[i] = ((b + 0x0fff + ((b >>> 13) & 1)) & ~0x1fff) >>> 0;
    } else {
      // subnormal binary16: a fixed quantum of 2^-24
      const scaled = a * 2 ** 24;
      const floor = Math.floor(scaled);
      const frac = scaled - floor;
      const n = frac > 0.5 || (frac === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
      values[i] = Math.sign(x) * n * 2 ** -24;
    }
    if (Math.abs(values[i]!) > F16_MAX) {
      throw new StoreError("INVALID_INPUT", `activation ${x} is beyond binary16's range (±${F16_MAX}); write this run's lake without f16`);
    }
  }
  return values;
}

/** Per layer: rows staged in its temp table and the next part number. */
interface LayerStage {
  table: string;
  dFF: number;
  staged: number;
  part: number;
}

/**
 * Writes one shard's activations to the lake, batch by batch, in part files of about 64 MB per
 * layer. Runs in the process that hosts the shard job (a worker thread or a queue runner), on a
 * private in-memory DuckDB.
 */
export class LakeShardWriter {
  private readonly stages = new Map<number, LayerStage>();
  private readonly files: LakeFile[] = [];

  private constructor(
    private readonly db: Db,
    private readonly target: LakeTarget,
    private readonly runId: string,
    private readonly shard: number,
    private readonly partBytes: number,
  ) {}

  /** `partBytes`: float32 bytes per part file (default 64 MiB; tests write small parts). */
  static async open(target: LakeTarget, runId: string, shard: number, options: { partBytes?: number } = {}): Promise<LakeShardWriter> {
    const db = await Db.open(":memory:", false);
    try {
      if (isRemoteLocation(target.location)) await db.write("opening the activation lake", (c) => loadHttpfs(c, target.location));
    } catch (err) {
      await db.close();
      throw err;
    }
    return new LakeShardWriter(db, target, runId, shard, options.partBytes ?? PART_BYTES);
  }

  /** Stages a batch (rounded to binary16 first with f16); writes a part once the layer has enough rows. */
  async write(b: LakeBatch): Promise<void> {
    validateBatch(Number(this.runId), { ...b, shard: this.shard, batchId: `layer ${b.layer} of shard ${this.shard}` });
    const data = this.target.f16 ? roundToF16(Float32Array.from(b.data)) : b.data;
    await this.db.write(`writing layer ${b.layer} of shard ${this.shard} to the lake`, async (conn) => {
      let stage = this.stages.get(b.layer);
      if (!stage) {
        stage = { table: `stage_${b.layer}`, dFF: b.dFF, staged: 0, part: 0 };
        await conn.run(`CREATE TEMP TABLE ${stage.table} (sample_idx INTEGER, position INTEGER, data FLOAT[${b.dFF}])`);
        this.stages.set(b.layer, stage);
      } else if (stage.dFF !== b.dFF) {
        throw new StoreError("INVALID_INPUT", `layer ${b.layer} batch has d_ff ${b.dFF}, earlier batches ${stage.dFF}`);
      }
      stage.staged += await appendBatch(conn, stage, b.sampleIdx, b.nPositions, data);
      if (stage.staged * stage.dFF * 4 >= this.partBytes) await this.flushPart(conn, b.layer, stage);
    });
  }

  /** Writes every staged row and returns the shard's files (then the writer is closed). */
  async finish(): Promise<LakeFile[]> {
    try {
      await this.db.write(`finishing shard ${this.shard} in the lake`, async (conn) => {
        for (const [layer, stage] of this.stages) if (stage.staged > 0) await this.flushPart(conn, layer, stage);
      });
      return [...this.files];
    } finally {
      await this.db.close();
    }
  }

  /** Drops what is staged (a cancelled or failed shard); files already written stay until a redo replaces them. */
  async close(): Promise<void> {
    await this.db.close();
  }

  private async flushPart(conn: DuckDBConnection, layer: number, stage: LayerStage): Promise<void> {
    const key = `${lakeShardKey(this.runId, layer, this.shard)}/part-${stage.part}.parquet`;
    const dir = lakePath(this.target.location, lakeShardKey(this.runId, layer, this.shard));
    const path = lakePath(this.target.location, key);
    const remote = isRemoteLocation(dir);
    const written = remote ? path : `${dir}/.part-${stage.part}.parquet.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    if (!remote) mkdirSync(dir, { recursive: true });
    const precision: LakePrecision = this.target.f16 ? "f16" : "f32";
    // zstd shrinks f16-rounded values by a third (their low mantissa bytes are zeros); float32
    // activations barely compress (7% measured), so they take the faster snappy
    await conn.run(
      `COPY ${stage.table} TO ${sqlString(written)}
       (FORMAT parquet, COMPRESSION ${this.target.f16 ? "zstd" : "snappy"}, KV_METADATA { skillscope_precision: '${precision}' })`,
    );
    if (!remote) {
      try {
        renameSync(written, path);
      } catch (err) {
        rmSync(written, { force: true });
        throw err;
      }
    }
    await conn.run(`DELETE FROM ${stage.table}`);
    this.files.push({ layer, shard: this.shard, key, rows: stage.staged, precision });
    stage.staged = 0;
    stage.part += 1;
  }
}

/** Appends a batch's (sample, position) rows to a stage table chunk by chunk; returns the row count. */
async function appendBatch(conn: DuckDBConnection, stage: LayerStage, sampleIdx: Int32Array, P: number, data: Float32Array): Promise<number> {
  const F = stage.dFF;
  const total = sampleIdx.length * P;
  if (data.length !== total * F) throw new StoreError("INVALID_INPUT", `batch holds ${data.length} values, expected ${sampleIdx.length} x ${P} x ${F}`);
  const types = [DuckDBIntegerType.instance, DuckDBIntegerType.instance, new DuckDBArrayType(DuckDBFloatType.instance, F)];
  const appender = await conn.createAppender(stage.table);
  try {
    for (let start = 0; start < total; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, total - start);
      const chunk = DuckDBDataChunk.create(types, n);
      const sample = chunk.getColumnVector(0);
      const pos = chunk.getColumnVector(1);
      const s = typedItems(sample, Int32Array);
      const p = typedItems(pos, Int32Array);
      for (let i = 0; i < n; i++) {
        s[i] = sampleIdx[Math.floor((start + i) / P)]!;
        p[i] = (start + i) % P;
      }
      sample.flush();
      pos.flush();
      const child = arrayChildFloats(chunk.getColumnVector(2));
      floatItems(child).set(data.subarray(start * F, (start + n) * F));
      child.flush();
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return total;
}

/** Removes a run's folder from a local lake (a new extraction rewrites it); remote lakes keep theirs (the catalog decides what is read). */
export function clearLakeRun(location: string, runId: number): void {
  if (isRemoteLocation(location)) return;
  rmSync(`${location.replace(/\/+$/, "")}/run=${runId}`, { recursive: true, force: true });
}

