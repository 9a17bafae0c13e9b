/** The `neurons` page the graphql bench asks for, shared with its first-call child processes. */
import type { ScoreQuery } from "../server/store/scores.js";

export const NEURONS_QUERY = `query ($r: ID!, $m: String!, $first: Int!, $layer: Int, $min: Float, $after: String) {
  neurons(runId: $r, metric: $m, first: $first, layer: $layer, minAbsR: $min, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id layer index r bestPosition rank } } } }`;

export interface NeuronsPage {
  neurons: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: { id: string; layer: number; index: number; r: number; bestPosition: number | null; rank: number } }[];
  };
}

/** NEURONS_QUERY's variables for the store query `q` of run `runId`. */
export function neuronsVariables(runId: number, q: ScoreQuery): Record<string, unknown> {
  return { r: String(runId), m: q.metric, first: q.first, layer: q.layer ?? null, min: q.minAbsR ?? null, after: q.after ?? null };
}
