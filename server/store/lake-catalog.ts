/**
 * The server's catalog of the activation lake (table lake_files; the writer is lake-writer.ts): the
 * files each shard of a run wrote, recorded when the server merges the shard, and the SQL that reads
 * exactly them wherever activations are needed.
 */
import { rmSync } from "node:fs";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";

export interface LakeTarget {
  /** A local folder or an s3:// (gs://, r2://) prefix; remote ones need DuckDB's httpfs installed. */
  readonly location: string;
  /**
   * Round every value to IEEE binary16 before writing (stored as FLOAT, so every engine reads it
   * without a half-float decoder; the rounded values compress to fewer bytes). Values beyond
   * ±65504 (binary16's largest) are refused.
   */
  readonly f16: boolean;
}

export type LakePrecision = "f32" | "f16";

/** One Parquet file a shard runner wrote. */
export interface LakeFile {
  readonly layer: number;
  readonly shard: number;
  /** Its path under the lake's location, `run=R/layer=L/shard=S/part-K.parquet` (each machine may mount the lake elsewhere). */
  readonly key: string;
  /** (sample, position) rows in the file. */
  readonly rows: number;
  readonly precision: LakePrecision;
}

export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

export function isRemoteLocation(location: string): boolean {
  return /^(s3|gs|r2|https?):\/\//.test(location);
}

/** A path under the lake's location. */
export function lakePath(location: string, key: string): string {
  return `${location.replace(/\/+$/, "")}/${key}`;
}

/** The key of one (run, layer, shard)'s folder in the lake. */
export function lakeShardKey(runId: number | string, layer: number, shard: number): string {
  return `run=${runId}/layer=${layer}/shard=${shard}`;
}

/** Loads httpfs on a connection that will touch a remote location (never downloads it). */
export async function loadHttpfs(conn: DuckDBConnection, location: string): Promise<void> {
  try {
    await conn.run("LOAD httpfs");
  } catch (err) {
    throw new StoreError("NOT_FOUND", `the activation lake ${location} needs DuckDB's httpfs extension, which is not installed here; install it once (see README, "Activation lake")`, { cause: err });
  }
}

/**
 * Records a finished shard's files under this server's `location` of the lake, replacing what an
 * earlier attempt of that shard recorded; sets the run's shape once.
 */
export async function catalogShard(db: Db, runId: number, shard: number, location: string, files: readonly LakeFile[], shape: { positions: number; dFF: number }): Promise<void> {
  for (const f of files) {
    if (f.shard !== shard || !f.key.startsWith(`run=${runId}/layer=${f.layer}/shard=${shard}/`)) {
      throw new StoreError("INVALID_INPUT", `lake file ${f.key} does not belong to run ${runId} shard ${shard} layer ${f.layer}`);
    }
  }
  await db.tx(`cataloging shard ${shard} of run ${runId}`, async (conn) => {
    const run = (await conn.runAndReadAll("SELECT positions, d_ff FROM runs WHERE id = $1", [runId])).getRows();
    if (run.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${runId}`);
    const [positions, dFF] = run[0]! as [number | null, number | null];
    if ((positions !== null && positions !== shape.positions) || (dFF !== null && dFF !== shape.dFF)) {
      throw new StoreError("INVALID_INPUT", `lake shard ${shard}: positions ${shape.positions} x d_ff ${shape.dFF} differ from run ${runId}'s ${positions} x ${dFF}`);
    }
    if (positions === null || dFF === null) {
      await conn.run("UPDATE runs SET positions = $2, d_ff = $3, updated = current_timestamp WHERE id = $1", [runId, shape.positions, shape.dFF]);
    }
    await conn.run("DELETE FROM lake_files WHERE run_id = $1 AND shard = $2", [runId, shard]);
    for (const f of files) {
      await conn.run("INSERT INTO lake_files (run_id, layer, shard, path, rows, precision) VALUES ($1, $2, $3, $4, $5, $6)", [runId, f.layer, f.shard, lakePath(location, f.key), f.rows, f.precision]);
    }
  });
}

/** Forgets a run's lake files (a new extraction starts). */
export async function clearCatalog(db: Db, runId: number): Promise<void> {
  await db.write(`clearing the lake catalog of run ${runId}`, (conn) => conn.run("DELETE FROM lake_files WHERE run_id = $1", [runId]).then(() => undefined));
}

/**
 * The SQL table expression over (run, layer)'s lake files (columns sample_idx, position, data
 * FLOAT[]), or null when the run has none there. Loads httpfs on `conn` for remote files.
 */
export async function lakeRows(conn: DuckDBConnection, runId: number, layer: number): Promise<string | null> {
  const rows = (await conn.runAndReadAll("SELECT path FROM lake_files WHERE run_id = $1 AND layer = $2 ORDER BY shard, path", [runId, layer])).getRows();
  if (rows.length === 0) return null;
  const paths = rows.map((r) => r[0] as string);
  if (paths.some(isRemoteLocation)) await loadHttpfs(conn, paths.find(isRemoteLocation)!);
  return `read_parquet([${paths.map(sqlString).join(", ")}])`;
}

/** Every cataloged lake file of a run. */
export async function lakePaths(db: Db, runId: number): Promise<string[]> {
  return db.read(`listing the lake files of run ${runId}`, async (conn) =>
    (await conn.runAndReadAll("SELECT path FROM lake_files WHERE run_id = $1", [runId])).getRows().map((r) => r[0] as string));
}

/** Removes the local ones among `paths` (object stores keep theirs: the user's own tools and lifecycle rules manage a bucket). */
export function removeLocalFiles(paths: readonly string[]): void {
  for (const p of paths) if (!isRemoteLocation(p)) rmSync(p, { force: true });
}

/** Layers of a run that have lake files, ascending. */
export async function lakeLayers(conn: DuckDBConnection, runId: number): Promise<number[]> {
  const rows = (await conn.runAndReadAll("SELECT DISTINCT layer::INTEGER FROM lake_files WHERE run_id = $1 ORDER BY 1", [runId])).getRows();
  return rows.map((r) => r[0] as number);
}
