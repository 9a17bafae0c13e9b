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
import * as blobs from "./blobs.js";
import type { Checkpoint } from "./blobs.js";
import { Db } from "./db.js";
import * as events from "./events.js";
import type { RunEvent } from "./events.js";
import { attachViews, exportRun } from "./export.js";
import { replaceExplanations, searchExplanations, type ExplanationQuery, type StoredExplanation } from "./explanations.js";
import { catalogShard, clearCatalog, lakePaths, removeLocalFiles, type LakeFile } from "./lake-catalog.js";
import { checkVersion, migrate } from "./migrations.js";
import * as records from "./records.js";
import type { AlignedMetric, MetricInfo, MetricKind, ModelRecord, SampleOutputs, SampleRow, StoredSampleRow, TaskRecord } from "./records.js";
import * as runs from "./run-state.js";
import type { RunPatch, RunRecord } from "./run-state.js";
import type { RunStatus } from "./run-status.js";
import { deleteScores, neuronPositionScores, neuronScore, queryScores, writeScores, type RankedScore, type ScoreAgg, type ScoreBatch, type ScorePage, type ScoreQuery } from "./scores.js";

export interface OpenOptions {
  readOnly?: boolean;
}

/**
 * The skillscope database: the only code that opens DuckDB. One Store per file per process
 * (files go through DuckDB's instance cache); a second process cannot open the same file.
 * Each group of methods is one module's job: run-state.ts (runs and their status machine),
 * records.ts (models, tasks, samples, outputs, metrics), events.ts (progress events),
 * blobs.ts (checkpoints, reservoirs), activations.ts, lake-catalog.ts, scores.ts, export.ts.
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
        store.recoveredRuns = await runs.markInterrupted(db);
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

  // ---- models and tasks (records.ts) ----

  /** Adds a model, or returns the one already stored under `path` (models are keyed by real path). */
  addModel(m: { path: string; family: string; config: unknown }): Promise<number> {
    return records.addModel(this.db, m);
  }

  getModel(id: number): Promise<ModelRecord> {
    return records.getModel(this.db, id);
  }

  listModels(): Promise<ModelRecord[]> {
    return records.listModels(this.db);
  }

  /** Adds a task and, when given, its samples, in one transaction: a task is never left without its rows. */
  addTask(t: { name: string; source: string; template: string; verbalizer: unknown }, samples: SampleRow[] = []): Promise<number> {
    return records.addTask(this.db, t, samples);
  }

  /** Adds a task read from a file, or returns a stored one with the same source, settings and samples. */
  addTaskOnce(t: { name: string; source: string; template: string; verbalizer: unknown }, samples: SampleRow[]): Promise<number> {
    return records.addTaskOnce(this.db, t, samples);
  }

  listTasks(): Promise<TaskRecord[]> {
    return records.listTasks(this.db);
  }

  getTask(id: number): Promise<TaskRecord> {
    return records.getTask(this.db, id);
  }

  /** Bulk insert of a task's rows, one transaction. */
  addSamples(taskId: number, rows: SampleRow[]): Promise<void> {
    return records.addSamples(this.db, taskId, rows);
  }

  /** A task's samples in insertion order, optionally one split. */
  listSamples(taskId: number, split?: string): Promise<StoredSampleRow[]> {
    return records.listSamples(this.db, taskId, split);
  }

  // ---- runs (run-state.ts) ----

  createRun(r: { modelId: number; taskId: number; config: unknown }): Promise<number> {
    return runs.createRun(this.db, r);
  }

  getRun(id: number): Promise<RunRecord> {
    return runs.getRun(this.db, id);
  }

  listRuns(): Promise<RunRecord[]> {
    return runs.listRuns(this.db);
  }

  /** Moves a run to `status` if the state machine allows it; `error` is recorded for failed runs. */
  setRunStatus(id: number, status: RunStatus, error: string | null = null): Promise<RunRecord> {
    return runs.setRunStatus(this.db, id, status, error);
  }

  /** Records what a run learned about itself (neuron definition, layers, timings, figures). */
  updateRun(id: number, patch: RunPatch): Promise<RunRecord> {
    return runs.updateRun(this.db, id, patch);
  }

  /** Deletes a run and every row that belongs to it, in one transaction; then its files in a local activation lake. */
  async deleteRun(id: number): Promise<void> {
    const files = await lakePaths(this.db, id);
    await runs.deleteRun(this.db, id);
    removeLocalFiles(files);
  }

  // ---- progress events (events.ts) ----

  /** Appends events whose sequence numbers the caller assigned (continuing lastEventSeq), in one transaction. */
  appendEvents(runId: number, list: readonly { seq: number; payload: unknown }[]): Promise<void> {
    return events.appendEvents(this.db, runId, list);
  }

  /** The run's highest event sequence number (0 when it has none). */
  lastEventSeq(runId: number): Promise<number> {
    return events.lastEventSeq(this.db, runId);
  }

  listEvents(runId: number, afterSeq = 0): Promise<RunEvent[]> {
    return events.listEvents(this.db, runId, afterSeq);
  }

  // ---- per-sample outputs and metrics (records.ts) ----

  writeSampleOutputs(runId: number, o: SampleOutputs): Promise<void> {
    return records.writeSampleOutputs(this.db, runId, o);
  }

  /** A run's sample outputs in ascending sampleIdx. */
  readSampleOutputs(runId: number): Promise<SampleOutputs> {
    return records.readSampleOutputs(this.db, runId);
  }

  /** Stores (or replaces) one metric's values and its catalogue entry, in one transaction. */
  writeMetric(runId: number, m: { name: string; kind: MetricKind; description?: string; sampleId: string[]; value: Float64Array }): Promise<void> {
    return records.writeMetric(this.db, runId, m);
  }

  listMetrics(runId: number): Promise<MetricInfo[]> {
    return records.listMetrics(this.db, runId);
  }

  /** One metric's values by sample ordinal (records.readMetricAligned): how every consumer pairs a metric with activations. */
  readMetricAligned(runId: number, name: string): Promise<AlignedMetric> {
    return records.readMetricAligned(this.db, runId, name);
  }

  // ---- checkpoints and reservoirs (blobs.ts) ----

  /** `resumeFrame`: the runner's encoded checkpoint frame a resumed run restarts from. */
  saveCheckpoint(runId: number, step: number, prompt: Float32Array, resumeFrame: Uint8Array | null = null): Promise<void> {
    return blobs.saveCheckpoint(this.db, runId, step, prompt, resumeFrame);
  }

  /** The checkpoint with the highest step, or null. */
  latestCheckpoint(runId: number): Promise<Checkpoint | null> {
    return blobs.latestCheckpoint(this.db, runId);
  }

  putReservoir(runId: number, layer: number, data: Uint8Array): Promise<void> {
    return blobs.putReservoir(this.db, runId, layer, data);
  }

  getReservoir(runId: number, layer: number): Promise<Uint8Array | null> {
    return blobs.getReservoir(this.db, runId, layer);
  }

  // ---- activations (activations.ts) ----

  /** One runner batch, one transaction; an already stored (run, shard, batchId, layer) is a no-op. */
  ingestActivations(runId: number, batch: ActivationBatch): Promise<IngestResult> {
    return ingestActivations(this.db, runId, batch);
  }

  /** Reads from the run's lake files when it was extracted into the activation lake, else from the table. */
  readActivations(runId: number, layer: number): Promise<LayerActivations> {
    return readActivations(this.db, this.layout, runId, layer);
  }

  readNeuron(runId: number, layer: number, neuron: number): Promise<NeuronActivations> {
    return readNeuron(this.db, this.layout, runId, layer, neuron);
  }

  // ---- the activation lake's catalog (lake-catalog.ts) ----

  /** Records the Parquet files a finished shard wrote to the lake at `location` (replacing an earlier attempt's); sets the run's shape. */
  catalogLakeShard(runId: number, shard: number, location: string, files: readonly LakeFile[], shape: { positions: number; dFF: number }): Promise<void> {
    return catalogShard(this.db, runId, shard, location, files, shape);
  }

  /** Forgets every lake file of a run (its extraction starts again). */
  clearLakeCatalog(runId: number): Promise<void> {
    return clearCatalog(this.db, runId);
  }

  // ---- scores (scores.ts) ----

  writeScores(runId: number, batches: ScoreBatch[]): Promise<number> {
    return writeScores(this.db, runId, batches);
  }

  deleteScores(runId: number, metric?: string): Promise<void> {
    return deleteScores(this.db, runId, metric);
  }

  queryScores(runId: number, query: ScoreQuery): Promise<ScorePage> {
    return queryScores(this.db, runId, query);
  }

  /** One neuron's stored score for (metric, agg) and its rank among the run's neurons; null when its r is undefined. */
  neuronScore(runId: number, metric: string, agg: ScoreAgg, layer: number, neuron: number): Promise<RankedScore | null> {
    return neuronScore(this.db, runId, metric, agg, layer, neuron);
  }

  /** One neuron's stored r and p per position for a metric (NaN: undefined), positions ascending. */
  neuronPositionScores(runId: number, metric: string, layer: number, neuron: number): Promise<{ position: number; r: number; p: number }[]> {
    return neuronPositionScores(this.db, runId, metric, layer, neuron);
  }

  // ---- neuron explanations (explanations.ts) ----

  async replaceExplanations(...args: Parameters<typeof replaceExplanations> extends [Db, ...infer R] ? R : never): Promise<void> {
    return replaceExplanations(this.db, ...args);
  }

  async searchExplanations(query: ExplanationQuery): Promise<StoredExplanation[]> {
    return searchExplanations(this.db, query);
  }

  // ---- export (export.ts) ----

  /** Writes the run as hive-partitioned Parquet under `dir` (see export.ts for the layout). */
  exportRun(runId: number, dir: string): Promise<void> {
    return exportRun(this.db, runId, dir);
  }
}
