/**
 * Cross-run comparison (two or more runs of one model, any tasks): shared top neurons, r pairs
 * for a scatter plot (same layer / neuron / metric), and per-layer shift of the r distribution.
 */
import { ServiceError } from "../errors.js";
import type { Store } from "../store/store.js";
import { sameModelRuns } from "./seed-stability.js";
import { neuronKey, readScoreTable, topKeys } from "./score-table.js";
import { ksStatistic } from "./set-stats.js";

export interface CompareOptions {
  metric: string;
  /** Top-K size for the shared set (default 10). */
  k?: number;
  agg?: "max_abs_r" | "max_act";
  /** Most scatter points, taken by the largest |r| in any run (default 2000). */
  scatterLimit?: number;
}

export interface LayerShift {
  layer: number;
  /** Per run (runIds order): mean |r| over the layer's neurons. */
  meanAbsR: number[];
  /** Per run: KS statistic of the layer's r distribution against the first run's (0 for the first). */
  ks: number[];
}

export interface RunComparison {
  runIds: number[];
  metric: string;
  k: number;
  /** Neurons in every run's top-K, with r per run. */
  shared: { layer: number; neuron: number; r: number[] }[];
  /** Neurons scored in every run, with r per run. */
  scatter: { layer: number; neuron: number; r: number[] }[];
  layers: LayerShift[];
}

export async function compareRuns(store: Store, runIds: readonly number[], options: CompareOptions): Promise<RunComparison> {
  const k = options.k ?? 10;
  const limit = options.scatterLimit ?? 2000;
  if (!(Number.isInteger(k) && k >= 1 && k <= 10000)) throw new ServiceError("BAD_INPUT", `compare k must be an integer in 1..10000, got ${k}`);
  if (!(Number.isInteger(limit) && limit >= 0)) throw new ServiceError("BAD_INPUT", `compare scatterLimit must be a non-negative integer, got ${limit}`);
  const runs = await sameModelRuns(store, runIds, false);
  const tables = await Promise.all(runs.map((id) => readScoreTable(store, id, options.metric, options.agg ?? "max_abs_r")));
  const tops = tables.map((t) => topKeys(t, k));
  const rOf = (key: string) => tables.map((t) => t.byKey.get(key)!.r);
  const shared = tops[0]!.filter((key) => tops.every((t) => t.includes(key))).map((key) => ({ ...pick(tables[0]!.byKey.get(key)!), r: rOf(key) }));
  const common = tables[0]!.ranked.filter((s) => tables.every((t) => t.byKey.has(neuronKey(s))));
  const scatter = common
    .map((s) => ({ ...pick(s), r: rOf(neuronKey(s)) }))
    .sort((a, b) => Math.max(...b.r.map(Math.abs)) - Math.max(...a.r.map(Math.abs)) || a.layer - b.layer || a.neuron - b.neuron)
    .slice(0, limit);
  const layerIds = [...new Set(tables.flatMap((t) => t.ranked.map((s) => s.layer)))].sort((a, b) => a - b);
  const layers = layerIds.map((layer) => {
    const rs = tables.map((t) => t.ranked.filter((s) => s.layer === layer).map((s) => s.r));
    return {
      layer,
      meanAbsR: rs.map((v) => (v.length ? v.reduce((s, x) => s + Math.abs(x), 0) / v.length : Number.NaN)),
      ks: rs.map((v) => ksStatistic(rs[0]!, v)),
    };
  });
  return { runIds: runs, metric: options.metric, k, shared, scatter, layers };
}

const pick = (s: { layer: number; neuron: number }) => ({ layer: s.layer, neuron: s.neuron });
