/** Runs: their rows, and status changes checked against the status machine (run-status.ts). */
import { listValue } from "@duckdb/node-api";
import { json, parseJson, rowObjects, type Row } from "./columns.js";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";
import { ACTIVE_STATUSES, TRANSITIONS, type RunStatus } from "./run-status.js";

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

/** Every table with rows that belong to one run (deleted with it). */
const RUN_TABLES = [
  "explanations",
  "activations",
  "ingested_batches",
  "lake_files",
  "scores",
  "reservoirs",
  "metrics",
  "metric_catalogue",
  "sample_outputs",
  "run_events",
  "prompt_checkpoints",
] as const;

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

const ACTIVE_SQL = ACTIVE_STATUSES.map((s) => `'${s}'`).join(", ");

/** Marks runs left active (by a crash) as interrupted; returns their ids. */
export async function markInterrupted(db: Db): Promise<number[]> {
  return db.tx("recovering runs", async (conn) => {
    const rows = await rowObjects(conn, `SELECT id FROM runs WHERE status IN (${ACTIVE_SQL}) ORDER BY id`);
    await conn.run(
      `UPDATE runs SET status = 'interrupted', error = coalesce(error, 'the server stopped while the run was active'), updated = current_timestamp
       WHERE status IN (${ACTIVE_SQL})`,
    );
    return rows.map((r) => r.id as number);
  });
}

export async function createRun(db: Db, r: { modelId: number; taskId: number; config: unknown }): Promise<number> {
  return db.write("creating run", async (conn) => {
    const rows = await rowObjects(conn, "INSERT INTO runs (model_id, task_id, config, status) VALUES ($1, $2, $3, 'queued') RETURNING id", [
      r.modelId,
      r.taskId,
      json(r.config) ?? "{}",
    ]);
    return rows[0]!.id as number;
  });
}

export async function getRun(db: Db, id: number): Promise<RunRecord> {
  return db.read(`reading run ${id}`, async (conn) => {
    const rows = await rowObjects(conn, "SELECT * FROM runs WHERE id = $1", [id]);
    if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${id}`);
    return toRun(rows[0]!);
  });
}

export async function listRuns(db: Db): Promise<RunRecord[]> {
  return db.read("listing runs", async (conn) => (await rowObjects(conn, "SELECT * FROM runs ORDER BY id")).map(toRun));
}

/** Moves a run to `status` if TRANSITIONS allows it; `error` is recorded for failed runs. */
export async function setRunStatus(db: Db, id: number, status: RunStatus, error: string | null = null): Promise<RunRecord> {
  if (!(status in TRANSITIONS)) throw new StoreError("INVALID_INPUT", `unknown run status ${status}`);
  return db.tx(`setting status of run ${id}`, async (conn) => {
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
export async function updateRun(db: Db, id: number, patch: RunPatch): Promise<RunRecord> {
  return db.write(`updating run ${id}`, async (conn) => {
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
export async function deleteRun(db: Db, id: number): Promise<void> {
  return db.tx(`deleting run ${id}`, async (conn) => {
    const rows = await rowObjects(conn, "SELECT id FROM runs WHERE id = $1", [id]);
    if (rows.length === 0) throw new StoreError("NOT_FOUND", `unknown run ${id}`);
    for (const table of RUN_TABLES) await conn.run(`DELETE FROM ${table} WHERE run_id = $1`, [id]);
    await conn.run("DELETE FROM runs WHERE id = $1", [id]);
  });
}
