import { DuckDBDataChunk, DuckDBDoubleType, DuckDBIntegerType, type DuckDBConnection } from "@duckdb/node-api";
import { neuronId } from "../../gpu-runner/neuron-id.js";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";
import { typedItems } from "./vectors.js";

/** 'position': r at one soft position; 'max_abs_r': max |r| over positions (position = argmax); 'max_act': r of the activation maximised over positions. */
export type ScoreAgg = "position" | "max_abs_r" | "max_act";
const AGGS: readonly ScoreAgg[] = ["position", "max_abs_r", "max_act"];

/** Scores of one (metric, agg, layer), column-wise. NaN r = undefined correlation: kept as NULL, never ranked. */
export interface ScoreBatch {
  metric: string;
  agg: ScoreAgg;
  layer: number;
  /** per row, one position for all rows, or null (max_act). */
  position: Int32Array | number | null;
  /** [n] */
  neuron: Int32Array;
  /** [n] */
  r: Float64Array | Float32Array;
  /** [n] analytic p of r alone; NaN or absent = NULL */
  p?: Float64Array | Float32Array | null;
  /** [n] p corrected for any choice behind r (the best of P positions for max_abs_r); absent = p */
  pCorrected?: Float64Array | Float32Array | null;
}

export interface ScoreQuery {
  metric?: string;
  agg?: ScoreAgg;
  layer?: number;
  position?: number;
  /** only this neuron (within each layer) */
  neuron?: number;
  minAbsR?: number;
  /** page size, 1..1000 */
  first: number;
  /** endCursor of the previous page */
  after?: string | null;
}

export interface RankedScore {
  /** 1-based rank by |r| within the query's filters */
  rank: number;
  metric: string;
  agg: ScoreAgg;
  layer: number;
  position: number | null;
  neuron: number;
  r: number;
  /** analytic p of r alone */
  p: number | null;
  /** p corrected for choosing the position (max_abs_r); equal to p otherwise */
  pCorrected: number | null;
  cursor: string;
}

export interface ScorePage {
  rows: RankedScore[];
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
}

const CHUNK_ROWS = 2048;
const MAX_PAGE = 1000;

function validateScores(runId: number, b: ScoreBatch): void {
  const bad = (field: string, why: string): never => {
    throw new StoreError("INVALID_INPUT", `scores of run ${runId} metric ${String(b.metric)} layer ${b.layer}: ${field} ${why}; nothing written`);
  };
  if (typeof b.metric !== "string" || b.metric.length === 0) bad("metric", "must be a non-empty string");
  if (!AGGS.includes(b.agg)) bad("agg", `must be one of ${AGGS.join(", ")}`);
  if (!Number.isInteger(b.layer) || b.layer < 0) bad("layer", "must be an integer >= 0");
  if (!(b.neuron instanceof Int32Array)) bad("neuron", "must be an Int32Array");
  const n = b.neuron.length;
  if (b.r.length !== n) bad("r", `has ${b.r.length} values for ${n} neurons`);
  if (b.p && b.p.length !== n) bad("p", `has ${b.p.length} values for ${n} neurons`);
  if (b.pCorrected && b.pCorrected.length !== n) bad("pCorrected", `has ${b.pCorrected.length} values for ${n} neurons`);
  if (b.position instanceof Int32Array) {
    if (b.position.length !== n) bad("position", `has ${b.position.length} values for ${n} neurons`);
    if (b.position.some((x) => x < 0)) bad("position", "has a negative value");
  } else if (b.position !== null && !(Number.isInteger(b.position) && b.position >= 0)) {
    bad("position", "must be an integer >= 0, an Int32Array or null");
  }
  for (let i = 0; i < n; i++) {
    const r = b.r[i]!;
    if (!Number.isNaN(r) && !(Math.abs(r) <= 1 + 1e-6)) bad("r", `has ${r} at row ${i} (must lie in [-1, 1] or be NaN)`);
  }
}

/** Copies one batch into the writer's numeric staging table, chunk by chunk (typed-array copies only). */
async function stage(conn: DuckDBConnection, b: ScoreBatch): Promise<void> {
  const int = DuckDBIntegerType.instance;
  const dbl = DuckDBDoubleType.instance;
  const appender = await conn.createAppender("score_stage");
  try {
    const n = b.neuron.length;
    for (let start = 0; start < n; start += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, n - start);
      const chunk = DuckDBDataChunk.create([int, int, dbl, dbl, dbl], m);
      const pos = chunk.getColumnVector(0);
      if (b.position instanceof Int32Array) typedItems(pos, Int32Array).set(b.position.subarray(start, start + m));
      else typedItems(pos, Int32Array).fill(b.position ?? -1);
      const neuron = chunk.getColumnVector(1);
      typedItems(neuron, Int32Array).set(b.neuron.subarray(start, start + m));
      const r = chunk.getColumnVector(2);
      typedItems(r, Float64Array).set(b.r.subarray(start, start + m));
      const p = chunk.getColumnVector(3);
      if (b.p) typedItems(p, Float64Array).set(b.p.subarray(start, start + m));
      else typedItems(p, Float64Array).fill(NaN);
      const pc = chunk.getColumnVector(4);
      const corrected = b.pCorrected ?? b.p;
      if (corrected) typedItems(pc, Float64Array).set(corrected.subarray(start, start + m));
      else typedItems(pc, Float64Array).fill(NaN);
      for (const v of [pos, neuron, r, p, pc]) v.flush();
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Appends score batches in one transaction (all or nothing). */
export async function writeScores(db: Db, runId: number, batches: ScoreBatch[]): Promise<number> {
  for (const b of batches) validateScores(runId, b);
  return db.tx(`writing scores of run ${runId}`, async (conn) => {
    const exists = (await conn.runAndReadAll("SELECT count(*)::INTEGER FROM runs WHERE id = $1", [runId])).getRows()[0]![0];
    if (exists === 0) throw new StoreError("NOT_FOUND", `unknown run ${runId}`);
    await conn.run("CREATE TEMP TABLE IF NOT EXISTS score_stage (position INTEGER, neuron INTEGER, r DOUBLE, p DOUBLE, p_corrected DOUBLE)");
    let total = 0;
    for (const b of batches) {
      await conn.run("DELETE FROM score_stage");
      await stage(conn, b);
      await conn.run(
        `INSERT INTO scores (run_id, metric, agg, layer, position, neuron, r, p, p_corrected)
         SELECT $1, $2, $3, $4, nullif(position, -1), neuron, CASE WHEN isnan(r) THEN NULL ELSE r END,
                CASE WHEN isnan(p) THEN NULL ELSE p END, CASE WHEN isnan(p_corrected) THEN NULL ELSE p_corrected END FROM score_stage`,
        [runId, b.metric, b.agg, b.layer],
      );
      total += b.neuron.length;
    }
    await conn.run("DELETE FROM score_stage");
    return total;
  });
}

/** Removes a run's scores (one metric, or all), e.g. before rescoring. */
export async function deleteScores(db: Db, runId: number, metric?: string): Promise<void> {
  await db.write(`deleting scores of run ${runId}`, async (conn) => {
    if (metric === undefined) await conn.run("DELETE FROM scores WHERE run_id = $1", [runId]);
    else await conn.run("DELETE FROM scores WHERE run_id = $1 AND metric = $2", [runId, metric]);
  });
}

type CursorKey = [rank: number, absR: number, metric: string, agg: string, layer: number, pos: number, neuron: number];

function encodeCursor(k: CursorKey): string {
  return Buffer.from(JSON.stringify(k)).toString("base64url");
}

function decodeCursor(cursor: string): CursorKey {
  try {
    const k = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(k) && k.length === 7 && typeof k[0] === "number" && typeof k[1] === "number") return k as CursorKey;
  } catch {
    // falls through to the typed error
  }
  throw new StoreError("INVALID_INPUT", `cursor ${cursor} is not one this server issued; restart from the first page`);
}

/** Scores ranked by |r| desc (ties: metric, agg, layer, position, neuron), keyset-paginated. */
export async function queryScores(db: Db, runId: number, q: ScoreQuery): Promise<ScorePage> {
  if (!Number.isInteger(q.first) || q.first < 1 || q.first > MAX_PAGE) {
    throw new StoreError("INVALID_INPUT", `first must be an integer in 1..${MAX_PAGE}, got ${q.first}`);
  }
  if (q.agg !== undefined && !AGGS.includes(q.agg)) throw new StoreError("INVALID_INPUT", `agg must be one of ${AGGS.join(", ")}`);
  const where = ["run_id = $run", "r IS NOT NULL"];
  const params: Record<string, string | number> = { run: runId };
  if (q.metric !== undefined) (where.push("metric = $metric"), (params.metric = q.metric));
  if (q.agg !== undefined) (where.push("agg = $agg"), (params.agg = q.agg));
  if (q.layer !== undefined) (where.push("layer = $layer"), (params.layer = q.layer));
  if (q.position !== undefined) (where.push("position = $position"), (params.position = q.position));
  if (q.neuron !== undefined) (where.push("neuron = $neuron"), (params.neuron = q.neuron));
  if (q.minAbsR !== undefined) (where.push("abs(r) >= $minAbsR"), (params.minAbsR = q.minAbsR));
  const filter = where.join(" AND ");
  let startRank = 0;
  const page = [...where];
  const pageParams = { ...params };
  if (q.after) {
    const [rank, absR, metric, agg, layer, pos, neuron] = decodeCursor(q.after);
    startRank = rank;
    page.push("(abs(r) < $cAbs OR (abs(r) = $cAbs AND (metric, agg, layer, coalesce(position, -1), neuron) > ($cM, $cA, $cL, $cP, $cN)))");
    Object.assign(pageParams, { cAbs: absR, cM: metric, cA: agg, cL: layer, cP: pos, cN: neuron });
  }
  return db.read(`querying scores of run ${runId}`, async (conn) => {
    const total = (await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM scores WHERE ${filter}`, params)).getRows()[0]![0] as number;
    const reader = await conn.runAndReadAll(
      `SELECT metric, agg, layer::INTEGER, position::INTEGER, neuron::INTEGER, r, p, p_corrected FROM scores WHERE ${page.join(" AND ")}
       ORDER BY abs(r) DESC, metric, agg, layer, coalesce(position, -1), neuron LIMIT ${q.first + 1}`,
      pageParams,
    );
    const raw = reader.getRows();
    const rows: RankedScore[] = raw.slice(0, q.first).map((row, i) => {
      const [metric, agg, layer, position, neuron, r, p, pCorrected] = row as [string, ScoreAgg, number, number | null, number, number, number | null, number | null];
      const rank = startRank + i + 1;
      return { rank, metric, agg, layer, position, neuron, r, p, pCorrected, cursor: encodeCursor([rank, Math.abs(r), metric, agg, layer, position ?? -1, neuron]) };
    });
    return { rows, totalCount: total, hasNextPage: raw.length > q.first, endCursor: rows.at(-1)?.cursor ?? null };
  });
}

/** One neuron's stored score for (metric, agg) with its rank among all the run's neurons under the same order as
 * queryScores (|r| desc, then layer, position, neuron); null when it has no defined r. */
export async function neuronScore(db: Db, runId: number, metric: string, agg: ScoreAgg, layer: number, neuron: number): Promise<RankedScore | null> {
  if (!AGGS.includes(agg)) throw new StoreError("INVALID_INPUT", `agg must be one of ${AGGS.join(", ")}`);
  return db.read(`reading the ${agg} score of neuron ${neuronId(layer, neuron)} of run ${runId}`, async (conn) => {
    const rows = (
      await conn.runAndReadAll(
        `WITH me AS (SELECT layer, position, neuron, r, p, p_corrected FROM scores
                     WHERE run_id = $run AND metric = $metric AND agg = $agg AND layer = $layer AND neuron = $neuron AND r IS NOT NULL LIMIT 1)
         SELECT me.layer::INTEGER, me.position::INTEGER, me.neuron::INTEGER, me.r, me.p, me.p_corrected,
           (SELECT count(*) FROM scores s WHERE s.run_id = $run AND s.metric = $metric AND s.agg = $agg AND s.r IS NOT NULL
              AND (abs(s.r) > abs(me.r) OR (abs(s.r) = abs(me.r)
                   AND (s.layer, coalesce(s.position, -1), s.neuron) < (me.layer, coalesce(me.position, -1), me.neuron))))::INTEGER
         FROM me`,
        { run: runId, metric, agg, layer, neuron },
      )
    ).getRows();
    if (rows.length === 0) return null;
    const [l, position, n, r, p, pCorrected, ahead] = rows[0] as [number, number | null, number, number, number | null, number | null, number];
    const rank = ahead + 1;
    return { rank, metric, agg, layer: l, position, neuron: n, r, p, pCorrected, cursor: encodeCursor([rank, Math.abs(r), metric, agg, l, position ?? -1, n]) };
  });
}

/** One neuron's stored r and p per position (agg "position"), positions ascending; NULL r and p come back as NaN. */
export async function neuronPositionScores(db: Db, runId: number, metric: string, layer: number, neuron: number): Promise<{ position: number; r: number; p: number }[]> {
  return db.read(`reading scores of neuron ${neuronId(layer, neuron)} of run ${runId}`, async (conn) => {
    const rows = (
      await conn.runAndReadAll(
        "SELECT position::INTEGER, r, p FROM scores WHERE run_id = $1 AND metric = $2 AND agg = 'position' AND layer = $3 AND neuron = $4 ORDER BY position",
        [runId, metric, layer, neuron],
      )
    ).getRows();
    return rows.map(([position, r, p]) => ({ position: position as number, r: (r as number | null) ?? NaN, p: (p as number | null) ?? NaN }));
  });
}
