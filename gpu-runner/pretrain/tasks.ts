/**
 * The demo's task files (`demo/tasks/*.jsonl`): one JSON object per line with `id`, input
 * fields, `answer` and/or `label`, `split`, and numeric/boolean columns that become metrics.
 * The prompts the templates render are exactly the pretraining corpus's instructions, so the
 * frozen demo model already knows each format.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../train/rng.js";
import {
  arithInstruction, arithProblem, mixedPair, mnliPair, nliInstruction, sentimentInstruction, sentimentItem,
  type ArithOp, NEGATION_RATE, VAL_MIX, VAL_NEGATION_RATE,
} from "./corpus.js";

export type TaskFileRow = Record<string, string | number | boolean>;

export interface SplitSizes {
  readonly train: number;
  readonly val: number;
}

export const DEMO_SPLITS: SplitSizes = { train: 200, val: 300 };

/** How the demo renders each task: the template, as the runner's `renderTemplate` reads it. */
export const DEMO_TEMPLATES = {
  sentiment: "{text} ->",
  "nli-hans": "{premise} <sep> {hypothesis} ->",
  arith: "{a} {op} {b} =",
} as const;

/**
 * Draws rows with `draw(split)` until each split has its size, skipping any row whose
 * instruction was already drawn (no duplicates within a file, no val row in train).
 */
function drawRows(
  prefix: string,
  sizes: SplitSizes,
  draw: (split: "train" | "val") => { key: string; row: TaskFileRow },
): TaskFileRow[] {
  const seen = new Set<string>();
  const rows: TaskFileRow[] = [];
  for (const split of ["train", "val"] as const) {
    for (let n = 0; n < sizes[split];) {
      const { key, row } = draw(split);
      if (seen.has(key)) continue;
      seen.add(key);
      n++;
      rows.push({ id: `${prefix}-${String(rows.length + 1).padStart(4, "0")}`, ...row, split });
    }
  }
  return rows;
}

/** Reviews with label = answer (`positive` / `negative`) and a `negated` column. */
export function sentimentRows(seed: number, sizes: SplitSizes = DEMO_SPLITS): TaskFileRow[] {
  const rng = Rng.fromSeed(seed);
  return drawRows("sent", sizes, (split) => {
    const s = sentimentItem(rng, split === "val" ? VAL_NEGATION_RATE : NEGATION_RATE);
    return { key: sentimentInstruction(s), row: { text: s.text, answer: s.label, label: s.label, negated: s.negated } };
  });
}

/**
 * NLI rows: the train split is MNLI-like (overlap goes with entailment), the val split mixes the
 * HANS constructions with overlap and label correlated (`VAL_MIX`, phi 0.5), so a neuron that
 * tracks overlap must be told from one that tracks the label within each label. No overlap column: skillscope's `lexical_overlap`
 * heuristic computes it from premise and hypothesis. `construction` names the HANS construction.
 */
export function nliRows(seed: number, sizes: SplitSizes = DEMO_SPLITS): TaskFileRow[] {
  const rng = Rng.fromSeed(seed);
  return drawRows("nli", sizes, (split) => {
    const p = split === "train" ? mnliPair(rng) : mixedPair(rng, VAL_MIX);
    return {
      key: nliInstruction(p),
      row: { premise: p.premise, hypothesis: p.hypothesis, answer: p.label, label: p.label, construction: p.kind },
    };
  });
}

/**
 * Multiplication problems without labels: train from pairs the pretraining corpus has, val from
 * the held-out pairs it never saw.
 */
export function arithRows(seed: number, sizes: SplitSizes = DEMO_SPLITS, op: ArithOp = "*"): TaskFileRow[] {
  const rng = Rng.fromSeed(seed);
  return drawRows("arith", sizes, (split) => {
    const p = arithProblem(rng, op, split === "val");
    return { key: arithInstruction(p), row: { a: p.a, b: p.b, op: p.op, answer: p.answer } };
  });
}

export function toJsonl(rows: readonly TaskFileRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

/** Writes sentiment.jsonl, nli-hans.jsonl, arith.jsonl and templates.json into `dir`; returns the file names. */
export function writeTaskFiles(dir: string, seed: number, sizes: SplitSizes = DEMO_SPLITS): string[] {
  const files: Record<string, TaskFileRow[]> = {
    "sentiment.jsonl": sentimentRows(seed + 1, sizes),
    "nli-hans.jsonl": nliRows(seed + 2, sizes),
    "arith.jsonl": arithRows(seed + 3, sizes),
  };
  for (const [name, rows] of Object.entries(files)) writeFileSync(join(dir, name), toJsonl(rows));
  writeFileSync(join(dir, "templates.json"), JSON.stringify(DEMO_TEMPLATES, null, 2) + "\n");
  return [...Object.keys(files), "templates.json"];
}
