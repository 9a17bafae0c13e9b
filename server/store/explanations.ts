/** Stored neuron explanations (table `explanations`, migration 003) and the search over them. */
import { neuronId } from "../../gpu-runner/neuron-id.js";
import type { Db } from "./db.js";
import { StoreError } from "./errors.js";

export type ExplanationSource = "features" | "llm";

export interface StoredExplanation {
  runId: number;
  layer: number;
  neuron: number;
  metric: string;
  position: number;
  source: ExplanationSource;
  rank: number;
  featureId: string;
  kind: string;
  description: string;
  words: string[];
  selectionR: number | null;
  heldOutR: number | null;
  heldOutAuc: number | null;
  effectSize: number | null;
  heldOutSamples: number;
  detail: unknown;
}

export interface ExplanationQuery {
  /** One run, or every run. */
  runId?: number;
  layer?: number;
  neuron?: number;
  metric?: string;
  source?: ExplanationSource;
  /** Case-insensitive substring of the description or feature id. */
  text?: string;
  /** Feature kind (word, bigram, word-set, metric, length, digit, overlap, llm). */
  kind?: string;
  /** A word the feature reads (exact, lowercase). */
  word?: string;
  /** Only each neuron's best explanation (rank 1). */
  bestOnly?: boolean;
  /** Rows, 1..1000. */
  first: number;
}

const finite = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);

/** Replaces the explanations of (run, neuron, metric, source) with `rows` (ranks 1..n in order). */
export async function replaceExplanations(db: Db, key: Pick<StoredExplanation, "runId" | "layer" | "neuron" | "metric" | "source">, rows: readonly Omit<StoredExplanation, "runId" | "layer" | "neuron" | "metric" | "source" | "rank">[]): Promise<void> {
  return db.tx(`writing explanations of run ${key.runId} ${neuronId(key.layer, key.neuron)}`, async (conn) => {
    await conn.run("DELETE FROM explanations WHERE run_id = $1 AND layer = $2 AND neuron = $3 AND metric = $4 AND source = $5", [key.runId, key.layer, key.neuron, key.metric, key.source]);
    for (const [i, e] of rows.entries()) {
      await conn.run(
        `INSERT INTO explanations (run_id, layer, neuron, metric, position, source, rank, feature_id, kind, description, words,
           selection_r, held_out_r, held_out_auc, effect_size, held_out_samples, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, from_json($11, '["VARCHAR"]'), $12, $13, $14, $15, $16, $17)`,
        [key.runId, key.layer, key.neuron, key.metric, e.position, key.source, i + 1, e.featureId, e.kind, e.description, JSON.stringify(e.words),
          finite(e.selectionR), finite(e.heldOutR), finite(e.heldOutAuc), finite(e.effectSize), e.heldOutSamples, JSON.stringify(e.detail ?? null)],
      );
    }
  });
}

/** Explanations matching every given filter, best held-out AUC first (then run, neuron, rank). */
export async function searchExplanations(db: Db, q: ExplanationQuery): Promise<StoredExplanation[]> {
  if (!Number.isInteger(q.first) || q.first < 1 || q.first > 1000) throw new StoreError("INVALID_INPUT", `first must be an integer in 1..1000, got ${q.first}`);
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  const add = (sql: string, name: string, value: string | number | undefined) => {
    if (value === undefined) return;
    where.push(sql);
    params[name] = value;
  };
  add("run_id = $run", "run", q.runId);
  add("layer = $layer", "layer", q.layer);
  add("neuron = $neuron", "neuron", q.neuron);
  add("metric = $metric", "metric", q.metric);
  add("source = $source", "source", q.source);
  add("kind = $kind", "kind", q.kind);
  add("(description ILIKE $text OR feature_id ILIKE $text)", "text", q.text === undefined ? undefined : `%${q.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  add("list_contains(words, $word)", "word", q.word?.toLowerCase());
  if (q.bestOnly) where.push("rank = 1");
  return db.read("searching explanations", async (conn) => {
    const reader = await conn.runAndReadAll(
      `SELECT run_id, layer, neuron, metric, position, source, rank, feature_id, kind, description, words, selection_r, held_out_r,
              held_out_auc, effect_size, held_out_samples, detail
       FROM explanations ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY coalesce(abs(held_out_auc - 0.5), 0) DESC, run_id, layer, neuron, metric, source, rank LIMIT ${q.first}`,
      params,
    );
    return reader.getRowObjectsJS().map((r) => ({
      runId: Number(r.run_id), layer: Number(r.layer), neuron: Number(r.neuron), metric: String(r.metric), position: Number(r.position),
      source: r.source as ExplanationSource, rank: Number(r.rank), featureId: String(r.feature_id), kind: String(r.kind), description: String(r.description),
      words: (r.words as string[]) ?? [], selectionR: r.selection_r as number | null, heldOutR: r.held_out_r as number | null,
      heldOutAuc: r.held_out_auc as number | null, effectSize: r.effect_size as number | null, heldOutSamples: Number(r.held_out_samples),
      detail: typeof r.detail === "string" ? JSON.parse(r.detail) : r.detail ?? null,
    }));
  });
}
