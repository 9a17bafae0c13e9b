/** Models, tasks with their samples, and a run's per-sample outputs and metrics. */
import type { DuckDBConnection } from "@duckdb/node-api";
import { appendColumns, checkLengths, json, parseJson, rowObjects, type Row } from "./columns.js";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";

export interface ModelRecord {
  id: number;
  path: string;
  family: string;
  config: unknown;
  created: Date;
}

export interface TaskRecord {
  id: number;
  name: string;
  source: string;
  template: string;
  verbalizer: unknown;
  created: Date;
}

export interface SampleRow {
  sampleId: string;
  split: string;
  fields: Record<string, unknown>;
  rendered: string;
  answer: string | null;
  label: string | null;
}

/** A stored sample: its ordinal is its 0-based place in its (task, split), fixed when it was added. */
export interface StoredSampleRow extends SampleRow {
  ordinal: number;
}

/**
 * The split a run extracts, correlates and reports on (prompt selection never sees it). A sample's
 * ordinal in it is the run's sample_idx, the key of its stored activations, outputs and reservoirs.
 */
export const ANALYSIS_SPLIT = "val";

/** A run's scored validation samples, column-wise. */
export interface SampleOutputs {
  /** [n] the sample's ordinal in the analysed split */
  sampleIdx: Int32Array;
  sampleId: string[];
  loss: Float64Array;
  goldProb: Float64Array;
  /** Top token probability at the first answer position. */
  confidence: Float64Array;
  /**
   * The first answer token that carries content (-1: none) and the gold token's cross-entropy and the
   * top probability there (NaN: none). Absent for outputs a runner reported without them (older runners).
   */
  contentToken?: Int32Array;
  contentLoss?: Float64Array;
  contentConfidence?: Float64Array;
  prediction: string[];
  correct: Uint8Array; // 0/1
}

export type MetricKind = "builtin" | "heuristic" | "column" | "added";
const METRIC_KINDS: readonly MetricKind[] = ["builtin", "heuristic", "column", "added"];

export interface MetricInfo {
  name: string;
  kind: MetricKind;
  description: string | null;
}

/** A metric over a run's analysed samples: index i = the sample with ordinal i. */
export interface AlignedMetric {
  /** [N] sample id of ordinal i */
  sampleId: string[];
  /** [N] value of ordinal i; NaN where the sample has no value */
  value: Float64Array;
}

function toModel(r: Row): ModelRecord {
  return { id: r.id as number, path: r.path as string, family: r.family as string, config: parseJson(r.config), created: r.created as Date };
}

function toTask(r: Row): TaskRecord {
  return { id: r.id as number, name: r.name as string, source: r.source as string, template: r.template as string, verbalizer: parseJson(r.verbalizer), created: r.created as Date };
}

// ---- models and tasks ----

/**
 * Adds a model, or returns the id of the one already stored under `path`: models are keyed by
 * their folder's real path, so registering one folder twice gives one model.
 */
export async function addModel(db: Db, m: { path: string; family: string; config: unknown }): Promise<number> {
  return db.write("adding model", async (conn) => {
    const existing = await rowObjects(conn, "SELECT id FROM models WHERE path = $1 ORDER BY id LIMIT 1", [m.path]);
    if (existing.length > 0) return existing[0]!.id as number;
    const rows = await rowObjects(conn, "INSERT INTO models (path, family, config) VALUES ($1, $2, $3) RETURNING id", [m.path, m.family, json(m.config)]);
    return rows[0]!.id as number;
  });
}

export async function getModel(db: Db, id: number): Promise<ModelRecord> {
  return db.read(`reading model ${id}`, async (conn) => {
    const rows = await rowObjects(conn, "SELECT * FROM models WHERE id = $1", [id]);
    if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown model ${id}`);
    return toModel(rows[0]!);
  });
}

export async function listModels(db: Db): Promise<ModelRecord[]> {
  return db.read("listing models", async (conn) => (await rowObjects(conn, "SELECT * FROM models ORDER BY id")).map(toModel));
}

/** Appends rows with ordinals continuing each split's count (0, 1, 2, ... per task and split). */
async function appendSamples(conn: DuckDBConnection, taskId: number, rows: SampleRow[]): Promise<void> {
  const counted = await rowObjects(conn, "SELECT split, count(*)::INTEGER AS n FROM samples WHERE task_id = $1 GROUP BY split", [taskId]);
  const next = new Map(counted.map((r) => [r.split as string, r.n as number]));
  const ordinal = Int32Array.from(rows, (r) => {
    const o = next.get(r.split) ?? 0;
    next.set(r.split, o + 1);
    return o;
  });
  return appendColumns(conn, "samples", rows.length, [
    { kind: "int", values: taskId },
    { kind: "text", values: rows.map((r) => r.sampleId) },
    { kind: "text", values: rows.map((r) => r.split) },
    { kind: "text", values: rows.map((r) => JSON.stringify(r.fields)) },
    { kind: "text", values: rows.map((r) => r.rendered) },
    { kind: "text", values: rows.map((r) => r.answer) },
    { kind: "text", values: rows.map((r) => r.label) },
    { kind: "int", values: ordinal },
  ]);
}

/** Adds a task and, when given, its samples, in one transaction: a task is never left without its rows. */
export async function addTask(db: Db, t: { name: string; source: string; template: string; verbalizer: unknown }, samples: SampleRow[]): Promise<number> {
  return db.tx("adding task", async (conn) => {
    const rows = await rowObjects(conn, "INSERT INTO tasks (name, source, template, verbalizer) VALUES ($1, $2, $3, $4) RETURNING id", [
      t.name,
      t.source,
      t.template,
      json(t.verbalizer),
    ]);
    const id = rows[0]!.id as number;
    if (samples.length > 0) await appendSamples(conn, id, samples);
    return id;
  });
}

/**
 * Adds a task read from a file, or returns the id of a stored one from the same source (the
 * file's real path) with the same name, template, verbalizer and samples: importing one file
 * twice with the same settings gives one task, while a changed file or setting is a new task.
 */
export async function addTaskOnce(db: Db, t: { name: string; source: string; template: string; verbalizer: unknown }, samples: SampleRow[]): Promise<number> {
  return db.tx("adding task", async (conn) => {
    const candidates = await rowObjects(conn, "SELECT * FROM tasks WHERE source = $1 AND name = $2 AND template = $3 ORDER BY id", [t.source, t.name, t.template]);
    const want = samplesKey(samples);
    for (const c of candidates) {
      if (canonicalJson(parseJson(c.verbalizer) ?? null) !== canonicalJson(t.verbalizer ?? null)) continue;
      const stored = await rowObjects(conn, "SELECT * FROM samples WHERE task_id = $1", [c.id as number]);
      if (samplesKey(stored.map(toSample)) === want) return c.id as number;
    }
    const rows = await rowObjects(conn, "INSERT INTO tasks (name, source, template, verbalizer) VALUES ($1, $2, $3, $4) RETURNING id", [
      t.name, t.source, t.template, json(t.verbalizer),
    ]);
    const id = rows[0]!.id as number;
    if (samples.length > 0) await appendSamples(conn, id, samples);
    return id;
  });
}

/** JSON with object keys sorted, so equal values give equal text whatever their key order. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value);
}

/** One text for a set of samples, independent of their order. */
function samplesKey(samples: readonly SampleRow[]): string {
  return samples.map((s) => canonicalJson([s.sampleId, s.split, s.fields, s.rendered, s.answer, s.label])).sort().join("\n");
}

export async function listTasks(db: Db): Promise<TaskRecord[]> {
  return db.read("listing tasks", async (conn) => (await rowObjects(conn, "SELECT * FROM tasks ORDER BY id")).map(toTask));
}

export async function getTask(db: Db, id: number): Promise<TaskRecord> {
  return db.read(`reading task ${id}`, async (conn) => {
    const rows = await rowObjects(conn, "SELECT * FROM tasks WHERE id = $1", [id]);
    if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown task ${id}`);
    return toTask(rows[0]!);
  });
}

/** Bulk insert of a task's rows, one transaction. */
export async function addSamples(db: Db, taskId: number, rows: SampleRow[]): Promise<void> {
  return db.tx(`adding samples to task ${taskId}`, (conn) => appendSamples(conn, taskId, rows));
}

/** A task's samples by split, then ordinal (each split in insertion order), optionally one split. */
export async function listSamples(db: Db, taskId: number, split?: string): Promise<StoredSampleRow[]> {
  return db.read(`reading samples of task ${taskId}`, async (conn) => {
    const rows =
      split === undefined
        ? await rowObjects(conn, "SELECT * FROM samples WHERE task_id = $1 ORDER BY split, ordinal", [taskId])
        : await rowObjects(conn, "SELECT * FROM samples WHERE task_id = $1 AND split = $2 ORDER BY ordinal", [taskId, split]);
    return rows.map(toSample);
  });
}

function toSample(r: Row): StoredSampleRow {
  return {
    ordinal: r.ordinal as number,
    sampleId: r.sample_id as string,
    split: r.split as string,
    fields: parseJson(r.fields) as Record<string, unknown>,
    rendered: r.rendered as string,
    answer: (r.answer as string | null) ?? null,
    label: (r.label as string | null) ?? null,
  };
}

// ---- per-sample outputs and metrics ----

/** content_token written for rows reported without content scores, then set NULL (the appender writes no NULL integers). */
const NOT_REPORTED = -2;

export async function writeSampleOutputs(db: Db, runId: number, o: SampleOutputs): Promise<void> {
  const n = o.sampleIdx.length;
  const content = o.contentToken && o.contentLoss && o.contentConfidence
    ? { contentToken: o.contentToken, contentLoss: o.contentLoss, contentConfidence: o.contentConfidence }
    : undefined;
  checkLengths(`sample outputs of run ${runId}`, n, {
    sampleId: o.sampleId, loss: o.loss, goldProb: o.goldProb, confidence: o.confidence, prediction: o.prediction, correct: o.correct, ...content,
  });
  return db.tx(`writing sample outputs of run ${runId}`, async (conn) => {
    await appendColumns(conn, "sample_outputs", n, [
      { kind: "int", values: runId },
      { kind: "int", values: o.sampleIdx },
      { kind: "text", values: o.sampleId },
      { kind: "double", values: o.loss },
      { kind: "double", values: o.goldProb },
      { kind: "double", values: o.confidence },
      { kind: "text", values: o.prediction },
      { kind: "bool", values: o.correct },
      // NOT_REPORTED marks the rows whose runner reported no content scores; they become NULL below
      { kind: "int", values: content?.contentToken ?? NOT_REPORTED },
      { kind: "double", values: content?.contentLoss ?? new Float64Array(n).fill(Number.NaN) },
      { kind: "double", values: content?.contentConfidence ?? new Float64Array(n).fill(Number.NaN) },
    ]);
    if (!content) {
      await conn.run(
        "UPDATE sample_outputs SET content_token = NULL, content_loss = NULL, content_confidence = NULL WHERE run_id = $1 AND content_token = $2",
        [runId, NOT_REPORTED],
      );
    }
  });
}

/** A run's sample outputs in ascending sampleIdx. */
export async function readSampleOutputs(db: Db, runId: number): Promise<SampleOutputs> {
  return db.read(`reading sample outputs of run ${runId}`, async (conn) => {
    const rows = await rowObjects(conn, "SELECT * FROM sample_outputs WHERE run_id = $1 ORDER BY sample_idx", [runId]);
    const num = (v: unknown) => (v === null ? NaN : (v as number));
    return {
      sampleIdx: Int32Array.from(rows, (r) => r.sample_idx as number),
      sampleId: rows.map((r) => r.sample_id as string),
      loss: Float64Array.from(rows, (r) => num(r.loss)),
      goldProb: Float64Array.from(rows, (r) => num(r.gold_prob)),
      confidence: Float64Array.from(rows, (r) => num(r.confidence)),
      // content scores when the runner reported them (NULL: migrated rows, or an older runner's)
      ...(rows.length > 0 && rows.every((r) => r.content_token !== null && r.content_token !== undefined)
        ? {
          contentToken: Int32Array.from(rows, (r) => r.content_token as number),
          contentLoss: Float64Array.from(rows, (r) => num(r.content_loss)),
          contentConfidence: Float64Array.from(rows, (r) => num(r.content_confidence)),
        }
        : {}),
      prediction: rows.map((r) => (r.prediction as string | null) ?? ""),
      correct: Uint8Array.from(rows, (r) => (r.correct ? 1 : 0)),
    };
  });
}

/** Stores (or replaces) one metric's values and its catalogue entry, in one transaction. */
export async function writeMetric(db: Db, runId: number, m: { name: string; kind: MetricKind; description?: string; sampleId: string[]; value: Float64Array }): Promise<void> {
  checkLengths(`metric ${m.name} of run ${runId}`, m.sampleId.length, { value: m.value });
  if (!METRIC_KINDS.includes(m.kind)) {
    throw new StoreError("INVALID_INPUT", `metric ${m.name}: kind must be ${METRIC_KINDS.join(", ")}, got ${m.kind}`);
  }
  return db.tx(`writing metric ${m.name} of run ${runId}`, async (conn) => {
    await conn.run("DELETE FROM metrics WHERE run_id = $1 AND name = $2", [runId, m.name]);
    await conn.run("DELETE FROM metric_catalogue WHERE run_id = $1 AND name = $2", [runId, m.name]);
    await conn.run("INSERT INTO metric_catalogue (run_id, name, kind, description) VALUES ($1, $2, $3, $4)", [runId, m.name, m.kind, m.description ?? null]);
    await appendColumns(conn, "metrics", m.sampleId.length, [
      { kind: "int", values: runId },
      { kind: "text", values: m.name },
      { kind: "text", values: m.sampleId },
      { kind: "double", values: m.value },
    ]);
    await conn.run("UPDATE metrics SET value = NULL WHERE run_id = $1 AND name = $2 AND isnan(value)", [runId, m.name]);
  });
}

export async function listMetrics(db: Db, runId: number): Promise<MetricInfo[]> {
  return db.read(`listing metrics of run ${runId}`, async (conn) => {
    const rows = await rowObjects(conn, "SELECT name, kind, description FROM metric_catalogue WHERE run_id = $1 ORDER BY name", [runId]);
    return rows.map((r) => ({ name: r.name as string, kind: r.kind as MetricKind, description: (r.description as string | null) ?? null }));
  });
}

/**
 * One metric's values aligned to the run's samples: value[i] belongs to the sample whose ordinal
 * (the run's sample_idx, the key of its activations and outputs) is i; NaN where it has none.
 * Every consumer that pairs a metric with activations or outputs reads it through here.
 * @throws StoreError NOT_FOUND for an unknown run or a metric the run does not have.
 */
export async function readMetricAligned(db: Db, runId: number, name: string): Promise<AlignedMetric> {
  return db.read(`reading metric ${name} of run ${runId}`, async (conn) => {
    const known = await rowObjects(conn, "SELECT 1 FROM metric_catalogue WHERE run_id = $1 AND name = $2", [runId, name]);
    if (known.length === 0) {
      const run = await rowObjects(conn, "SELECT 1 FROM runs WHERE id = $1", [runId]);
      throw new StoreError("NOT_FOUND", run.length === 0 ? `unknown run ${runId}` : `run ${runId} has no metric ${name}`);
    }
    const rows = (
      await conn.runAndReadAll(
        `SELECT s.ordinal, s.sample_id, m.value FROM runs r
         JOIN samples s ON s.task_id = r.task_id AND s.split = $split
         LEFT JOIN metrics m ON m.run_id = r.id AND m.name = $name AND m.sample_id = s.sample_id
         WHERE r.id = $run ORDER BY s.ordinal`,
        { run: runId, name, split: ANALYSIS_SPLIT },
      )
    ).getRows() as [number, string, number | null][];
    rows.forEach(([ordinal], i) => {
      if (ordinal !== i) throw new StoreError("SCHEMA", `samples of run ${runId}'s task have ordinal ${ordinal} at place ${i}: ordinals must run 0, 1, 2, ...`);
    });
    return { sampleId: rows.map((r) => r[1]), value: Float64Array.from(rows, (r) => (r[2] === null ? Number.NaN : r[2])) };
  });
}
