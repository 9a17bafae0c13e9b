/**
 * Stability of skill neurons across prompt seeds: S runs of the same model and task (different
 * prompt seeds) compared by their top-K sets per metric.
 */
import { spearman } from "../analysis/rank-scores.js";
import { ServiceError } from "../errors.js";
import type { Store } from "../store/store.js";
import { readScoreTable, topKeys, type ScoreTable } from "./score-table.js";
import { jaccard } from "./set-stats.js";

export interface StabilityOptions {
  /** Metrics to compare (default: those every run has). */
  metrics?: string[];
  /** Top-K size (default 10). */
  k?: number;
  agg?: "max_abs_r" | "max_act";
}

export interface RunPair {
  runA: number;
  runB: number;
  /** Jaccard overlap of the two top-K sets. */
  jaccard: number;
  /**
   * Spearman correlation of |r| between the runs over the union of their top-K sets (NaN when
   * undefined: fewer than 2 neurons, or constant |r|).
   */
  spearman: number;
}

export interface MetricStability {
  metric: string;
  /** Per run, its top-K as neuron ids `L{layer}.N{neuron}`, in rank order. */
  topK: { runId: number; neurons: string[] }[];
  pairs: RunPair[];
  meanJaccard: number;
  meanSpearman: number;
  /** Neurons in every run's top-K, with their r per run (in runIds order). */
  stable: { layer: number; neuron: number; r: number[] }[];
}

export interface StabilityReport {
  runIds: number[];
  k: number;
  metrics: MetricStability[];
}

export async function seedStability(store: Store, runIds: readonly number[], options: StabilityOptions = {}): Promise<StabilityReport> {
  const k = options.k ?? 10;
  if (!(Number.isInteger(k) && k >= 1 && k <= 10000)) throw new ServiceError("BAD_INPUT", `seed stability k must be an integer in 1..10000, got ${k}`);
  const runs = await sameModelRuns(store, runIds, true);
  const metrics = options.metrics ?? (await commonMetrics(store, runs));
  if (metrics.length === 0) throw new ServiceError("BAD_STATE", `runs ${runIds.join(", ")} share no scored metric`);
  const out: MetricStability[] = [];
  for (const metric of metrics) {
    const tables = await Promise.all(runs.map((id) => readScoreTable(store, id, metric, options.agg ?? "max_abs_r")));
    const tops = tables.map((t) => topKeys(t, k));
    const pairs: RunPair[] = [];
    for (let a = 0; a < tables.length; a++) {
      for (let b = a + 1; b < tables.length; b++) {
        pairs.push({ runA: runs[a]!, runB: runs[b]!, jaccard: jaccard(tops[a]!, tops[b]!), spearman: unionSpearman(tables[a]!, tables[b]!, tops[a]!, tops[b]!) });
      }
    }
    const stable = tops[0]!.filter((key) => tops.every((t) => t.includes(key))).map((key) => {
      const s = tables[0]!.byKey.get(key)!;
      return { layer: s.layer, neuron: s.neuron, r: tables.map((t) => t.byKey.get(key)!.r) };
    });
    out.push({
      metric, topK: runs.map((runId, i) => ({ runId, neurons: tops[i]! })), pairs,
      meanJaccard: mean(pairs.map((p) => p.jaccard)), meanSpearman: mean(pairs.map((p) => p.spearman).filter((x) => !Number.isNaN(x))), stable,
    });
  }
  return { runIds: runs, k, metrics: out };
}

/** Spearman of |r| in run a vs run b over the union of both top-K sets (neurons scored in both). */
function unionSpearman(a: ScoreTable, b: ScoreTable, topA: string[], topB: string[]): number {
  const keys = [...new Set([...topA, ...topB])].filter((key) => a.byKey.has(key) && b.byKey.has(key));
  if (keys.length < 2) return Number.NaN;
  return spearman(keys.map((key) => Math.abs(a.byKey.get(key)!.r)), keys.map((key) => Math.abs(b.byKey.get(key)!.r)));
}

/** Checks the runs exist, are distinct, share one model (and one task when `sameTask`); returns them. */
export async function sameModelRuns(store: Store, runIds: readonly number[], sameTask: boolean): Promise<number[]> {
  if (!Array.isArray(runIds) || runIds.length < 2 || new Set(runIds).size !== runIds.length) {
    throw new ServiceError("BAD_INPUT", `give at least two distinct run ids, got [${runIds}]`);
  }
  const runs = [];
  for (const id of runIds) {
    runs.push(await store.getRun(id).catch((e: Error) => {
      throw new ServiceError("NOT_FOUND", `run ${id}: ${e.message}`, { cause: e });
    }));
  }
  const [first] = runs;
  for (const r of runs) {
    if (r.modelId !== first!.modelId) throw new ServiceError("BAD_INPUT", `run ${r.id} uses model ${r.modelId}, run ${first!.id} model ${first!.modelId}: neurons are only comparable within one model`);
    if (sameTask && r.taskId !== first!.taskId) throw new ServiceError("BAD_INPUT", `run ${r.id} is on task ${r.taskId}, run ${first!.id} on task ${first!.taskId}: seed stability compares runs of one task`);
  }
  return [...runIds];
}

async function commonMetrics(store: Store, runIds: readonly number[]): Promise<string[]> {
  const lists = await Promise.all(runIds.map(async (id) => new Set((await store.listMetrics(id)).map((m) => m.name))));
  return [...lists[0]!].filter((m) => lists.every((l) => l.has(m))).sort();
}

function mean(a: readonly number[]): number {
  return a.length ? a.reduce((s, x) => s + x, 0) / a.length : Number.NaN;
}


