import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { isHeldOutPair, lexicalOverlap, NEGATION_RATE, VAL_NEGATION_RATE } from "../../../gpu-runner/pretrain/corpus.js";
import { arithRows, DEMO_SPLITS, DEMO_TEMPLATES, nliRows, sentimentRows, toJsonl } from "../../../gpu-runner/pretrain/tasks.js";
import { WordCodec, UNK_ID } from "../../../gpu-runner/pretrain/tokenizer.js";
import { renderDemoTemplate } from "../../../gpu-runner/pretrain/evaluate.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

function phi(rows: Record<string, unknown>[]): number {
  const x = rows.map((r) => (lexicalOverlap(r.premise as string, r.hypothesis as string) ? 1 : 0));
  const y = rows.map((r) => (r.label === "entailment" ? 1 : 0));
  const n = x.length;
  const mx = x.reduce<number>((s, v) => s + v, 0) / n;
  const my = y.reduce<number>((s, v) => s + v, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

test("task rows: ids unique, splits sized, rows well-formed, tokenizable without <unk>", () => {
  const codec = new WordCodec();
  const files = { sentiment: sentimentRows(2), "nli-hans": nliRows(3), arith: arithRows(4) } as const;
  for (const [task, rows] of Object.entries(files) as [keyof typeof files, Record<string, unknown>[]][]) {
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    assert.equal(rows.filter((r) => r.split === "train").length, DEMO_SPLITS.train);
    assert.equal(rows.filter((r) => r.split === "val").length, DEMO_SPLITS.val);
    for (const r of rows) {
      const text = `${renderDemoTemplate(DEMO_TEMPLATES[task], r as never)} ${String(r.answer)}`;
      assert.ok(!codec.encode(text).includes(UNK_ID), text);
    }
  }
  for (const r of files.arith) {
    assert.equal(r.answer, String((r.a as number) * (r.b as number)));
    assert.equal(r.op, "*");
    assert.equal(isHeldOutPair(r.a as number, r.b as number), r.split === "val");
    assert.ok(!("label" in r));
  }
});

test("the val split keeps overlap and entailment correlated, less than train, with every cell populated", () => {
  const rows = nliRows(5);
  const train = rows.filter((r) => r.split === "train");
  const val = rows.filter((r) => r.split === "val");
  assert.ok(phi(train) > 0.6, `train phi ${phi(train)}`);
  assert.ok(phi(val) > 0.35 && phi(val) < 0.65, `val phi ${phi(val)}`);
  // Both overlap and non-overlap cases in val, each with both labels: enough to test within a label.
  for (const overlap of [true, false]) for (const label of ["entailment", "non-entailment"]) {
    const n = val.filter((r) => lexicalOverlap(r.premise as string, r.hypothesis as string) === overlap && r.label === label).length;
    assert.ok(n > DEMO_SPLITS.val / 12, `cell overlap=${overlap} ${label}: ${n}`);
  }
});

test("the sentiment val split negates clauses at VAL_NEGATION_RATE, the train split as the corpus does", () => {
  const rows = sentimentRows(6);
  // A review has one clause (60%) or two (40%): it is negated with probability 0.6 q + 0.4 (1 - (1 - q)^2).
  const expected = (q: number): number => 0.6 * q + 0.4 * (1 - (1 - q) ** 2);
  for (const [split, rate] of [["train", NEGATION_RATE], ["val", VAL_NEGATION_RATE]] as const) {
    const share = rows.filter((r) => r.split === split && r.negated).length / DEMO_SPLITS[split];
    assert.ok(Math.abs(share - expected(rate)) < 0.08, `${split}: ${share} negated, expected ${expected(rate)}`);
  }
});

test("committed demo task files are what the generator makes with seed 1", () => {
  const dir = join(root, "demo", "tasks");
  assert.ok(existsSync(join(dir, "nli-hans.jsonl")), "demo/tasks is missing: run npm run pretrain");
  assert.equal(readFileSync(join(dir, "sentiment.jsonl"), "utf8"), toJsonl(sentimentRows(2)));
  assert.equal(readFileSync(join(dir, "nli-hans.jsonl"), "utf8"), toJsonl(nliRows(3)));
  assert.equal(readFileSync(join(dir, "arith.jsonl"), "utf8"), toJsonl(arithRows(4)));
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "templates.json"), "utf8")), DEMO_TEMPLATES);
});
