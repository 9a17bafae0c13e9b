import assert from "node:assert/strict";
import { test } from "node:test";
import { DEV_FRACTION, runSplits } from "../../../server/tasks/dev-split.js";

/** The three sets of a run: an explicit dev split is used; without one, a seeded share of train. */
const rows = (split: string, n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ sampleId: `${prefix}${i}`, split }));

test("a task without dev rows gets round(DEV_FRACTION * train) of its train rows as dev, disjoint, independent of row order; val untouched", () => {
  const samples = [...rows("train", 50, "t"), ...rows("val", 20, "v")];
  const a = runSplits(samples);
  assert.equal(a.dev.length, Math.round(DEV_FRACTION * 50));
  assert.equal(a.train.length + a.dev.length, 50);
  const ids = (xs: { sampleId: string }[]) => xs.map((x) => x.sampleId);
  assert.equal(new Set([...ids(a.train), ...ids(a.dev)]).size, 50, "train and dev are disjoint and cover the old train");
  assert.deepEqual(ids(a.val), ids(rows("val", 20, "v")));
  // the same ids in another order give the same dev set
  const b = runSplits([...samples].reverse());
  assert.deepEqual(new Set(ids(b.dev)), new Set(ids(a.dev)));
  // a train of 2 still gives dev one row; a train of 1 keeps it (nothing to choose the prompt on but val then)
  assert.equal(runSplits(rows("train", 2, "t")).dev.length, 1);
  assert.equal(runSplits(rows("train", 1, "t")).dev.length, 0);
});

test("explicit dev rows are the dev set; nothing is carved from train", () => {
  const samples = [...rows("train", 10, "t"), ...rows("dev", 3, "d"), ...rows("val", 4, "v")];
  const s = runSplits(samples);
  assert.deepEqual([s.train.length, s.dev.length, s.val.length], [10, 3, 4]);
  assert.ok(s.dev.every((x) => x.split === "dev"));
});
