/** A run's scores for one metric and aggregate as a neuron-keyed table (paged out of the store). */
import { neuronId } from "../../gpu-runner/neuron-id.js";
import type { ScoreAgg } from "../store/scores.js";
import type { Store } from "../store/store.js";
import { ServiceError } from "../errors.js";

export interface ScoredNeuron {
  layer: number;
  neuron: number;
  r: number;
  /** Best position for max_abs_r; the position for "position" scores; null for max_act. */
  position: number | null;
}

export interface ScoreTable {
  runId: number;
  metric: string;
  agg: ScoreAgg;
  /** Ranked by |r| descending (defined r only). */
  ranked: ScoredNeuron[];
  /** `L{layer}.N{neuron}` -> entry. */
  byKey: Map<string, ScoredNeuron>;
}

export const neuronKey = (n: { layer: number; neuron: number }): string => neuronId(n.layer, n.neuron);

/**
 * Reads every score of (metric, agg) of a run, or only the first `limit` by |r|. Aggregates other
 * than "position" hold one row per neuron. Pages of 1000: meant for small and medium models.
 */
export async function readScoreTable(store: Store, runId: number, metric: string, agg: Exclude<ScoreAgg, "position"> = "max_abs_r", limit = Infinity): Promise<ScoreTable> {
  const ranked: ScoredNeuron[] = [];
  let after: string | null = null;
  for (;;) {
    const first = Math.min(1000, limit - ranked.length);
    if (first <= 0) break;
    const page = await store.queryScores(runId, { metric, agg, first, after });
    for (const s of page.rows) ranked.push({ layer: s.layer, neuron: s.neuron, r: s.r, position: s.position });
    if (!page.hasNextPage) break;
    after = page.endCursor;
  }
  if (ranked.length === 0) {
    throw new ServiceError("BAD_STATE", `run ${runId} has no ${agg} scores for metric "${metric}": check the metric name, or wait until the run is scored`);
  }
  return { runId, metric, agg, ranked, byKey: new Map(ranked.map((s) => [neuronKey(s), s])) };
}

/** The first k keys of a table's ranking. */
export function topKeys(t: ScoreTable, k: number): string[] {
  return t.ranked.slice(0, k).map(neuronKey);
}
