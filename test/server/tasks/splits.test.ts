import assert from "node:assert/strict";
import { test } from "node:test";
import { assignSplits, seededHash } from "../../../server/tasks/splits.js";
import type { ParsedTaskRow } from "../../../server/tasks/types.js";

const rows = (n: number, split?: (i: number) => "train" | "val" | undefined): ParsedTaskRow[] =>
  Array.from({ length: n }, (_, i) => {
    const s = split?.(i);
    return { id: `row-${i}`, line: i + 1, fields: {}, columns: {}, answer: "x", ...(s === undefined ? {} : { split: s }) };
  });

const valIds = (r: readonly { id: string; split: string }[]) => r.filter((x) => x.split === "val").map((x) => x.id).sort();

test("the same seed gives the same split; row order does not matter", () => {
  const data = rows(200);
  const a = assignSplits(data, { valFraction: 0.25, seed: 3 });
  const b = assignSplits([...data].reverse(), { valFraction: 0.25, seed: 3 });
  assert.deepEqual(valIds(a), valIds(b));
  assert.deepEqual(a.map((r) => r.id), data.map((r) => r.id)); // rows keep their order
});

test("different seeds give different splits", () => {
  const data = rows(200);
  const splits = new Set([1, 2, 3, 4].map((seed) => valIds(assignSplits(data, { valFraction: 0.25, seed })).join(",")));
  assert.equal(splits.size, 4);
});

test("the val share is round(valFraction * unsplit rows), and rows with a split keep it", () => {
  const data = rows(103, (i) => (i < 3 ? "train" : undefined));
  const out = assignSplits(data, { valFraction: 0.3, seed: 11 });
  assert.equal(valIds(out).length, 30);
  assert.deepEqual(out.slice(0, 3).map((r) => r.split), ["train", "train", "train"]);
});

test("with 0 < valFraction < 1 each side gets at least one row; 0 and 1 put all on one side", () => {
  assert.equal(valIds(assignSplits(rows(2), { valFraction: 0.01, seed: 0 })).length, 1);
  assert.equal(valIds(assignSplits(rows(2), { valFraction: 0.99, seed: 0 })).length, 1);
  assert.equal(valIds(assignSplits(rows(5), { valFraction: 0, seed: 0 })).length, 0);
  assert.equal(valIds(assignSplits(rows(5), { valFraction: 1, seed: 0 })).length, 5);
});

test("the chosen rows are spread over the id order, not a prefix", () => {
  // Val rows of 1000 sequential ids: their mean index should sit near the middle (sd of the mean ~ 20).
  const out = assignSplits(rows(1000), { valFraction: 0.2, seed: 5 });
  const idx = out.flatMap((r, i) => (r.split === "val" ? [i] : []));
  const mean = idx.reduce((s, i) => s + i, 0) / idx.length;
  assert.ok(Math.abs(mean - 499.5) < 100, `mean index ${mean}`);
  assert.notEqual(seededHash("a", 1), seededHash("a", 2));
  assert.equal(seededHash("abc", 9), seededHash("abc", 9));
});

test("bad options throw RangeError", () => {
  assert.throws(() => assignSplits(rows(3), { valFraction: 1.5, seed: 0 }), RangeError);
  assert.throws(() => assignSplits(rows(3), { valFraction: Number.NaN, seed: 0 }), RangeError);
  assert.throws(() => assignSplits(rows(3), { valFraction: 0.5, seed: 0.5 }), RangeError);
});
