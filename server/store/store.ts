import { listValue, type DuckDBConnection } from "@duckdb/node-api";
import {
  ingestActivations,
  readActivations,
  readNeuron,
  type ActivationBatch,
  type ActivationLayout,
  type IngestResult,
  type LayerActivations,
  type NeuronActivations,
} from "./activations.js";
import { Db } from "./db.js";
import { StoreError } from "./errors.js";
import { attachViews, exportRun } from "./export.js";
import { checkVersion, migrate } from "./migrations.js";
import { appendColumns, bytesOf, checkLengths, type SampleOutputs, type SampleRow } from "./records.js";
import { deleteScores, queryScores, writeScores, type ScoreBatch, type ScorePage, type ScoreQuery } from "./scores.js";

export type RunStatus = "queued" | "running" | "training" | "extracting" | "scoring" | "done" | "failed" | "cancelled" | "interrupted";
export const ACTIVE_STATUSES: readonly RunStatus[] = ["running", "training", "extracting", "scoring"];

/** Allowed status changes. done is final; failed/cancelled/interrupted runs may be queued again. */
const TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ["running", "training", "extracting", "scoring", "failed", "cancelled"],
  running: ["training", "extracting", "scoring", "done", "failed", "cancelled", "interrupted"],
  training: ["running", "extracting", "scoring", "done", "failed", "cancelled", "interrupted"],
  extracting: ["running", "training", "scoring", "done", "failed", "cancelled", "interrupted"],
  scoring: ["running", "training", "extracting", "done", "failed", "cancelled", "interrupted"],
  done: [],
  failed: ["queued"],
  cancelled: ["queued"],
  interrupted: ["queued", "running", "training", "extracting", "scoring", "failed", "cancelled"],
};

export type MetricKind = "builtin" | "heuristic" | "column" | "added";

export interface RunRecord {
  id: number;
  modelId: number;
  taskId: number;
  config: unknown;
  status: RunStatus;
  error: string | null;
  neuronDefinition: string | null;
  layers: number[] | null;
  positions: number | null;
  dFF: number | null;
  timings: unknown;
  trainFigures: unknown;
  valFigures: unknown;
  created: Date;
  updated: Date;
}

export interface RunPatch {
  neuronDefinition?: string;
  layers?: number[];
  timings?: unknown;
  trainFigures?: unknown;
  valFigures?: unknown;
}

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

export interface RunEvent {
  seq: number;
  payload: unknown;
  created: Date;
}

export interface MetricInfo {
  name: string;
  kind: MetricKind;
  description: string | null;
}

export interface MetricValues {
  sampleId: string[];
  /** [n]; NaN = missing */
  value: Float64Array;
}

export interface Checkpoint {
  step: number;
  /** [n_soft, d_model] flattened */
  prompt: Float32Array;
  optimizerState: Uint8Array | null;
  created: Date;
}

export interface OpenOptions {
  readOnly?: boolean;
}

type Row = Record<string, unknown>;

const parseJson = (v: unknown): unknown => (typeof v === "string" ? JSON.parse(v) : v ?? null);
const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

function toRun(r: Row): RunRecord {
  return {
    id: r.id as number,
    modelId: r.model_id as number,
    taskId: r.task_id as number,
    config: parseJson(r.config),
    status: r.status as RunStatus,
    error: (r.error as string | null) ?? null,
    neuronDefinition: (r.neuron_definition as string | null) ?? null,
    layers: (r.layers as number[] | null) ?? null,
    positions: (r.positions as number | null) ?? null,
    dFF: (r.d_ff as number | null) ?? null,
    timings: parseJson(r.timings),
    trainFigures: parseJson(r.train_figures),
    valFigures: parseJson(r.val_figures),
    created: r.created as Date,
    updated: r.updated as Date,
  };
}

function toModel(r: Row): ModelRecord {
  return { id: r.id as number, path: r.path as string, family: r.family as string, config: parseJson(r.config), created: r.created as Date };
}

function toTask(r: Row): TaskRecord {
  return { id: r.id as number, name: r.name as string, source: r.source as string, template: r.template as string, verbalizer: parseJson(r.verbalizer), created: r.created as Date };
}

function appendSamples(conn: DuckDBConnection, taskId: number, rows: SampleRow[]): Promise<void> {
  return appendColumns(conn, "samples", rows.length, [
    { kind: "int", values: taskId },
    { kind: "text", values: rows.map((r) => r.sampleId) },
    { kind: "text", values: rows.map((r) => r.split) },
    { kind: "text", values: rows.map((r) => JSON.stringify(r.fields)) },
    { kind: "text", values: rows.map((r) => r.rendered) },
    { kind: "text", values: rows.map((r) => r.answer) },
    { kind: "text", values: rows.map((r) => r.label) },
  ]);
}

async function rowObjects(conn: DuckDBConnection, sql: string, params: (string | number | null)[] = []): Promise<Row[]> {
  return (await conn.runAndReadAll(sql, params)).getRowObjectsJS() as Row[];
}

const RUN_TABLES = [
  "activations",
  "ingested_batches",
  "scores",
  "stats",
  "reservoirs",
  "metrics",
  "metric_catalogue",
  "sample_outputs",
  "run_events",
  "prompt_checkpoints",
] as const;

/**
 * The skillscope database: the only code that opens DuckDB. One Store per file per process
 * (files go through DuckDB's instance cache); a second process cannot open the same file.
 */
export class Store {
  /** Runs found active at open and marked interrupted (crash recovery). */
  recoveredRuns: number[] = [];

  private constructor(
    private readonly db: Db,
    private readonly layout: ActivationLayout,
  ) {}

  get readOnly(): boolean {
    return this.db.readOnly;
  }

  /** Opens (creating if needed) a database file or ':memory:', migrates it and marks runs left active as interrupted. */
  static async open(path: string, options: OpenOptions = {}): Promise<Store> {
    const readOnly = options.readOnly ?? false;
    const db = await Db.open(path, readOnly);
    const store = new Store(db, "blob");
    try {
      if (readOnly) {
        await db.read(`checking schema of ${path}`, (conn) => checkVersion(conn));
      } else {
        await db.write(`migrating ${path}`, (conn) => migrate(conn));
        store.recoveredRuns = await store.markInterrupted();
      }
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  /** A read-only Store over a dataset written by exportRun (local folder, or s3://, http(s):// via httpfs). */
  static async attachExport(dir: string): Promise<Store> {
    const db = await Db.open(":memory:", false);
    try {
      await db.write(`attaching export ${dir}`, (conn) => attachViews(conn, dir));
    } catch (err) {
      await db.close();
      throw err;
    }
    return new Store(db.asReadOnly(), "list");
  }

  async close(): Promise<void> {
    return this.db.close();
  }

  private async markInterrupted(): Promise<number[]> {
    return this.db.tx("recovering runs", async (conn) => {
      const rows = await rowObjects(conn, `SELECT id FROM runs WHERE status IN (${ACTIVE_STATUSES.map((s) => `'${s}'`).join(", ")}) ORDER BY id`);
      await conn.run(
        `UPDATE runs SET status = 'interrupted', error = coalesce(error, 'the server stopped while the run was active'), updated = current_timestamp
         WHERE status IN (${ACTIVE_STATUSES.map((s) => `'${s}'`).join(", ")})`,
      );
      return rows.map((r) => r.id as number);
    });
  }

  // ---- models and tasks ----

  async addModel(m: { path: string; family: string; config: unknown }): Promise<number> {
    return this.db.write("adding model", async (conn) => {
      const rows = await rowObjects(conn, "INSERT INTO models (path, family, config) VALUES ($1, $2, $3) RETURNING id", [m.path, m.family, json(m.config)]);
      return rows[0]!.id as number;
    });
  }

  async getModel(id: number): Promise<ModelRecord> {
    return this.db.read(`reading model ${id}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT * FROM models WHERE id = $1", [id]);
      if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown model ${id}`);
      return toModel(rows[0]!);
    });
  }

  async listModels(): Promise<ModelRecord[]> {
    return this.db.read("listing models", async (conn) => (await rowObjects(conn, "SELECT * FROM models ORDER BY id")).map(toModel));
  }

  /** Adds a task and, when given, its samples, in one transaction: a task is never left without its rows. */
  async addTask(t: { name: string; source: string; template: string; verbalizer: unknown }, samples: SampleRow[] = []): Promise<number> {
    return this.db.tx("adding task", async (conn) => {
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

  async listTasks(): Promise<TaskRecord[]> {
    return this.db.read("listing tasks", async (conn) => (await rowObjects(conn, "SELECT * FROM tasks ORDER BY id")).map(toTask));
  }

  async getTask(id: number): Promise<TaskRecord> {
    return this.db.read(`reading task ${id}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT * FROM tasks WHERE id = $1", [id]);
      if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown task ${id}`);
      return toTask(rows[0]!);
    });
  }

  /** Bulk insert of a task's rows, one transaction. */
  async addSamples(taskId: number, rows: SampleRow[]): Promise<void> {
    return this.db.tx(`adding samples to task ${taskId}`, (conn) => appendSamples(conn, taskId, rows));
  }

  /** A task's samples in insertion order, optionally one split. */
  async listSamples(taskId: number, split?: string): Promise<SampleRow[]> {
    return this.db.read(`reading samples of task ${taskId}`, async (conn) => {
      const rows =
        split === undefined
          ? await rowObjects(conn, "SELECT * FROM samples WHERE task_id = $1", [taskId])
          : await rowObjects(conn, "SELECT * FROM samples WHERE task_id = $1 AND split = $2", [taskId, split]);
      return rows.map((r) => ({
        sampleId: r.sample_id as string,
        split: r.split as string,
        fields: parseJson(r.fields) as Record<string, unknown>,
        rendered: r.rendered as string,
        answer: (r.answer as string | null) ?? null,
        label: (r.label as string | null) ?? null,
      }));
    });
  }

  // ---- runs ----

  async createRun(r: { modelId: number; taskId: number; config: unknown }): Promise<number> {
    return this.db.write("creating run", async (conn) => {
      const rows = await rowObjects(conn, "INSERT INTO runs (model_id, task_id, config, status) VALUES ($1, $2, $3, 'queued') RETURNING id", [
        r.modelId,
        r.taskId,
        json(r.config) ?? "{}",
      ]);
      return rows[0]!.id as number;
    });
  }

  async getRun(id: number): Promise<RunRecord> {
    return this.db.read(`reading run ${id}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT * FROM runs WHERE id = $1", [id]);
      if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${id}`);
      return toRun(rows[0]!);
    });
  }

  async listRuns(): Promise<RunRecord[]> {
    return this.db.read("listing runs", async (conn) => (await rowObjects(conn, "SELECT * FROM runs ORDER BY id")).map(toRun));
  }

  /** Moves a run to `status` if TRANSITIONS allows it; `error` is recorded for failed runs. */
  async setRunStatus(id: number, status: RunStatus, error: string | null = null): Promise<RunRecord> {
    if (!(status in TRANSITIONS)) throw new StoreError("INVALID_INPUT", `unknown run status ${status}`);
    return this.db.tx(`setting status of run ${id}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT status FROM runs WHERE id = $1", [id]);
      if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${id}`);
      const from = rows[0]!.status as RunStatus;
      if (!TRANSITIONS[from].includes(status)) {
        throw new StoreError("INVALID_TRANSITION", `run ${id} cannot go from ${from} to ${status} (allowed: ${TRANSITIONS[from].join(", ") || "none"})`);
      }
      const updated = await rowObjects(conn, "UPDATE runs SET status = $2, error = $3, updated = current_timestamp WHERE id = $1 RETURNING *", [id, status, error]);
      return toRun(updated[0]!);
    });
  }

  /** Records what a run learned about itself (neuron definition, layers, timings, figures). */
  async updateRun(id: number, patch: RunPatch): Promise<RunRecord> {
    return this.db.write(`updating run ${id}`, async (conn) => {
      const sets: string[] = [];
      const params: Record<string, string | number | null | ReturnType<typeof listValue>> = { id };
      if (patch.neuronDefinition !== undefined) (sets.push("neuron_definition = $nd"), (params.nd = patch.neuronDefinition));
      if (patch.layers !== undefined) (sets.push("layers = $layers::INTEGER[]"), (params.layers = listValue(patch.layers)));
      if (patch.timings !== undefined) (sets.push("timings = $timings"), (params.timings = json(patch.timings)));
      if (patch.trainFigures !== undefined) (sets.push("train_figures = $tf"), (params.tf = json(patch.trainFigures)));
      if (patch.valFigures !== undefined) (sets.push("val_figures = $vf"), (params.vf = json(patch.valFigures)));
      sets.push("updated = current_timestamp");
      const rows = (await conn.runAndReadAll(`UPDATE runs SET ${sets.join(", ")} WHERE id = $id RETURNING *`, params)).getRowObjectsJS() as Row[];
      if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${id}`);
      return toRun(rows[0]!);
    });
  }

  /** Deletes a run and every row that belongs to it, in one transaction. */
  async deleteRun(id: number): Promise<void> {
    return this.db.tx(`deleting run ${id}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT id FROM runs WHERE id = $1", [id]);
      if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${id}`);
      for (const table of RUN_TABLES) await conn.run(`DELETE FROM ${table} WHERE run_id = $1`, [id]);
      await conn.run("DELETE FROM runs WHERE id = $1", [id]);
    });
  }

  // ---- training events ----

  /** Appends one progress event; returns its per-run sequence number (1, 2, ...). */
  async appendEvent(runId: number, payload: unknown): Promise<number> {
    return this.db.tx(`appending event to run ${runId}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT coalesce(max(seq), 0)::INTEGER AS s FROM run_events WHERE run_id = $1", [runId]);
      const seq = (rows[0]!.s as number) + 1;
      await conn.run("INSERT INTO run_events (run_id, seq, payload) VALUES ($1, $2, $3)", [runId, seq, JSON.stringify(payload)]);
      return seq;
    });
  }

  /**
   * Appends events whose sequence numbers the caller assigned (continuing lastEventSeq), in one
   * transaction: the bulk path for fast progress streams.
   */
  async appendEvents(runId: number, events: readonly { seq: number; payload: unknown }[]): Promise<void> {
    if (events.length === 0) return;
    return this.db.tx(`appending ${events.length} events to run ${runId}`, async (conn) => {
      await conn.run("INSERT INTO run_events (run_id, seq, payload) SELECT $run, unnest($seqs::INTEGER[]), unnest($payloads::VARCHAR[])", {
        run: runId,
        seqs: listValue(events.map((e) => e.seq)),
        payloads: listValue(events.map((e) => JSON.stringify(e.payload))),
      });
    });
  }

  /** The run's highest event sequence number (0 when it has none). */
  async lastEventSeq(runId: number): Promise<number> {
    return this.db.read(`reading events of run ${runId}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT coalesce(max(seq), 0)::INTEGER AS s FROM run_events WHERE run_id = $1", [runId]);
      return rows[0]!.s as number;
    });
  }

  async listEvents(runId: number, afterSeq = 0): Promise<RunEvent[]> {
    return this.db.read(`listing events of run ${runId}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT seq, payload, created FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq", [runId, afterSeq]);
      return rows.map((r) => ({ seq: r.seq as number, payload: parseJson(r.payload), created: r.created as Date }));
    });
  }

  // ---- per-sample outputs and metrics ----

  async writeSampleOutputs(runId: number, o: SampleOutputs): Promise<void> {
    const n = o.sampleIdx.length;
    checkLengths(`sample outputs of run ${runId}`, n, { sampleId: o.sampleId, loss: o.loss, goldProb: o.goldProb, confidence: o.confidence, prediction: o.prediction, correct: o.correct });
    return this.db.tx(`writing sample outputs of run ${runId}`, async (conn) => {
      await appendColumns(conn, "sample_outputs", n, [
        { kind: "int", values: runId },
        { kind: "int", values: o.sampleIdx },
        { kind: "text", values: o.sampleId },
        { kind: "double", values: o.loss },
        { kind: "double", values: o.goldProb },
        { kind: "double", values: o.confidence },
        { kind: "text", values: o.prediction },
        { kind: "bool", values: o.correct },
      ]);
    });
  }

  /** A run's sample outputs in ascending sampleIdx. */
  async readSampleOutputs(runId: number): Promise<SampleOutputs> {
    return this.db.read(`reading sample outputs of run ${runId}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT * FROM sample_outputs WHERE run_id = $1 ORDER BY sample_idx", [runId]);
      const num = (v: unknown) => (v === null ? NaN : (v as number));
      return {
        sampleIdx: Int32Array.from(rows, (r) => r.sample_idx as number),
        sampleId: rows.map((r) => r.sample_id as string),
        loss: Float64Array.from(rows, (r) => num(r.loss)),
        goldProb: Float64Array.from(rows, (r) => num(r.gold_prob)),
        confidence: Float64Array.from(rows, (r) => num(r.confidence)),
        prediction: rows.map((r) => (r.prediction as string | null) ?? ""),
        correct: Uint8Array.from(rows, (r) => (r.correct ? 1 : 0)),
      };
    });
  }

  /** Stores (or replaces) one metric's values and its catalogue entry, in one transaction. */
  async writeMetric(runId: number, m: { name: string; kind: MetricKind; description?: string; sampleId: string[]; value: Float64Array }): Promise<void> {
    checkLengths(`metric ${m.name} of run ${runId}`, m.sampleId.length, { value: m.value });
    if (!["builtin", "heuristic", "column", "added"].includes(m.kind)) {
      throw new StoreError("INVALID_INPUT", `metric ${m.name}: kind must be builtin, heuristic, column or added, got ${m.kind}`);
    }
    return this.db.tx(`writing metric ${m.name} of run ${runId}`, async (conn) => {
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

  async listMetrics(runId: number): Promise<MetricInfo[]> {
    return this.db.read(`listing metrics of run ${runId}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT name, kind, description FROM metric_catalogue WHERE run_id = $1 ORDER BY name", [runId]);
      return rows.map((r) => ({ name: r.name as string, kind: r.kind as MetricKind, description: (r.description as string | null) ?? null }));
    });
  }

  /** One metric's values in insertion order; missing values are NaN. */
  async readMetric(runId: number, name: string): Promise<MetricValues> {
    return this.db.read(`reading metric ${name} of run ${runId}`, async (conn) => {
      const rows = await rowObjects(conn, "SELECT sample_id, value FROM metrics WHERE run_id = $1 AND name = $2", [runId, name]);
      if (rows.length === 0) {
        const known = await rowObjects(conn, "SELECT 1 FROM metric_catalogue WHERE run_id = $1 AND name = $2", [runId, name]);
        if (known.length === 0) throw new StoreError("NOT_FOUND", `run ${runId} has no metric ${name}`);
      }
      return { sampleId: rows.map((r) => r.sample_id as string), value: Float64Array.from(rows, (r) => (r.value === null ? NaN : (r.value as number))) };
    });
  }

  // ---- prompt checkpoints ----

  async saveCheckpoint(runId: number, step: number, prompt: Float32Array, optimizerState: Uint8Array | null = null): Promise<void> {
    return this.db.write(`saving checkpoint of run ${runId}`, async (conn) => {
      await conn.run("INSERT INTO prompt_checkpoints (run_id, step, prompt, optimizer_state) VALUES ($1, $2, $3, $4)", [
        runId,
        step,
        bytesOf(prompt),
        optimizerState ? bytesOf(optimizerState) : null,
      ]);
    });
  }

  /** The checkpoint with the highest step, or null. */
  async latestCheckpoint(runId: number): Promise<Checkpoint | null> {
    return this.db.read(`reading checkpoint of run ${runId}`, async (conn) => {
      const reader = await conn.runAndReadAll(
        "SELECT step, prompt, optimizer_state, created FROM prompt_checkpoints WHERE run_id = $1 ORDER BY step DESC, created DESC LIMIT 1",
        [runId],
      );
      const rows = reader.getRows();
      if (rows.length === 0) return null;
      const [step, prompt, opt, created] = rows[0]! as [number, { bytes: Uint8Array }, { bytes: Uint8Array } | null, { toString(): string }];
      const pb = new Uint8Array(prompt.bytes); // a copy: .bytes may be a pooled Buffer view
      return {
        step,
        prompt: new Float32Array(pb.buffer, 0, pb.byteLength / 4),
        optimizerState: opt ? new Uint8Array(opt.bytes) : null,
        created: new Date(`${created.toString()}Z`),
      };
    });
  }

  // ---- serialized analysis state ----

  async putStats(runId: number, layer: number, data: Uint8Array): Promise<void> {
    return this.putBlob("stats", runId, layer, data);
  }

  async getStats(runId: number, layer: number): Promise<Uint8Array | null> {
    return this.getBlob("stats", runId, layer);
  }

  async putReservoir(runId: number, layer: number, data: Uint8Array): Promise<void> {
    return this.putBlob("reservoirs", runId, layer, data);
  }

  async getReservoir(runId: number, layer: number): Promise<Uint8Array | null> {
    return this.getBlob("reservoirs", runId, layer);
  }

  private async putBlob(table: "stats" | "reservoirs", runId: number, layer: number, data: Uint8Array): Promise<void> {
    return this.db.tx(`saving ${table} of run ${runId} layer ${layer}`, async (conn) => {
      await conn.run(`DELETE FROM ${table} WHERE run_id = $1 AND layer = $2`, [runId, layer]);
      await conn.run(`INSERT INTO ${table} (run_id, layer, data) VALUES ($1, $2, $3)`, [runId, layer, bytesOf(data)]);
    });
  }

  private async getBlob(table: "stats" | "reservoirs", runId: number, layer: number): Promise<Uint8Array | null> {
    return this.db.read(`reading ${table} of run ${runId} layer ${layer}`, async (conn) => {
      const rows = (await conn.runAndReadAll(`SELECT data FROM ${table} WHERE run_id = $1 AND layer = $2`, [runId, layer])).getRows();
      return rows.length === 0 ? null : new Uint8Array((rows[0]![0] as { bytes: Uint8Array }).bytes);
    });
  }

  // ---- activations ----

  /** One runner batch, one transaction; an already stored (run, shard, batchId, layer) is a no-op. */
  async ingestActivations(runId: number, batch: ActivationBatch): Promise<IngestResult> {
    return ingestActivations(this.db, runId, batch);
  }

  async readActivations(runId: number, layer: number): Promise<LayerActivations> {
    return readActivations(this.db, runId, layer);
  }

  async readNeuron(runId: number, layer: number, neuron: number): Promise<NeuronActivations> {
    return readNeuron(this.db, this.layout, runId, layer, neuron);
  }

  // ---- scores ----

  async writeScores(runId: number, batches: ScoreBatch[]): Promise<number> {
    return writeScores(this.db, runId, batches);
  }

  async deleteScores(runId: number, metric?: string): Promise<void> {
    return deleteScores(this.db, runId, metric);
  }

  async queryScores(runId: number, query: ScoreQuery): Promise<ScorePage> {
    return queryScores(this.db, runId, query);
  }

  // ---- export ----

  /** Writes the run as hive-partitioned Parquet under `dir` (see export.ts for the layout). */
  async exportRun(runId: number, dir: string): Promise<void> {
    return exportRun(this.db, runId, dir);
  }
}
