import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Store, StoreError, type RankedScore, type ScoreAgg, type ScoreQuery } from "../../../server/store/index.js";
import { pattern, storeWithRun } from "./helpers.js";

interface Row {
  metric: string;
  agg: ScoreAgg;
  layer: number;
  position: number | null;
  neuron: number;
  r: number;
  p: number | null;
}

/** Independent oracle: the same ranking computed by a JS sort. */
function oracle(rows: Row[], q: Omit<ScoreQuery, "first" | "after">): Row[] {
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  return rows
    .filter((r) => !Number.isNaN(r.r))
    .filter((r) => (q.metric === undefined || r.metric === q.metric) && (q.agg === undefined || r.agg === q.agg))
    .filter((r) => (q.layer === undefined || r.layer === q.layer) && (q.position === undefined || r.position === q.position))
    .filter((r) => q.minAbsR === undefined || Math.abs(r.r) >= q.minAbsR)
    .sort((a, b) => Math.abs(b.r) - Math.abs(a.r) || cmp(a.metric, b.metric) || cmp(a.agg, b.agg) || a.layer - b.layer || (a.position ?? -1) - (b.position ?? -1) || a.neuron - b.neuron);
}

async function allPages(store: Store, runId: number, q: Omit<ScoreQuery, "first" | "after">, first: number): Promise<RankedScore[]> {
  const out: RankedScore[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await store.queryScores(runId, { ...q, first, after });
    out.push(...page.rows);
    if (!page.hasNextPage) return out;
    after = page.endCursor;
  }
}

describe("scores", () => {
  let store: Store;
  let runId: number;
  const rows: Row[] = [];
  before(async () => {
    ({ store, runId } = await storeWithRun(":memory:"));
    const N = 300;
    const neuron = Int32Array.from({ length: N }, (_, i) => i);
    const batches = [];
    for (const metric of ["label", "overlap"]) {
      for (const layer of [0, 1]) {
        for (const position of [0, 1, 2]) {
          const raw = pattern(N, layer * 10 + position + (metric === "label" ? 0 : 100));
          // values in [-1, 1], coarse so that ties across neurons exist; one NaN (constant neuron)
          const r = Float64Array.from(raw, (x, i) => (i === 5 ? NaN : Math.round(Math.tanh(x) * 50) / 50));
          const p = Float64Array.from(r, (x) => 1 - Math.abs(x));
          batches.push({ metric, agg: "position" as const, layer, position, neuron, r, p });
          r.forEach((v, i) => rows.push({ metric, agg: "position", layer, position, neuron: i, r: v, p: Number.isNaN(v) ? null : p[i]! }));
        }
        const r = Float64Array.from({ length: N }, (_, i) => Math.sin(i + layer) * 0.9);
        batches.push({ metric, agg: "max_act" as const, layer, position: null, neuron, r, p: null });
        r.forEach((v, i) => rows.push({ metric, agg: "max_act", layer, position: null, neuron: i, r: v, p: null }));
      }
    }
    assert.equal(await store.writeScores(runId, batches), rows.length);
  });
  after(() => store.close());

  const project = (r: RankedScore): Row => ({ metric: r.metric, agg: r.agg, layer: r.layer, position: r.position, neuron: r.neuron, r: r.r, p: r.p });

  for (const [name, q, first] of [
    ["everything", {}, 97],
    ["one metric and layer", { metric: "label", layer: 1 }, 50],
    ["one position above a threshold", { position: 2, minAbsR: 0.5 }, 13],
    ["an aggregate", { agg: "max_act" as ScoreAgg, metric: "overlap" }, 1000],
  ] as const) {
    it(`ranks by |r| and paginates without gaps or repeats: ${name}`, async () => {
      const expected = oracle(rows, q);
      const got = await allPages(store, runId, q, first);
      assert.equal(got.length, expected.length);
      assert.deepEqual(got.map(project), expected);
      assert.deepEqual(got.map((r) => r.rank), expected.map((_, i) => i + 1));
      const page = await store.queryScores(runId, { ...q, first });
      assert.equal(page.totalCount, expected.length);
    });
  }

  it("rejects bad pages and cursors with typed errors", async () => {
    await assert.rejects(store.queryScores(runId, { first: 0 }), (e: StoreError) => e.code === "INVALID_INPUT");
    await assert.rejects(store.queryScores(runId, { first: 5, after: "garbage" }), (e: StoreError) => e.code === "INVALID_INPUT" && /cursor/.test(e.message));
    await assert.rejects(
      store.writeScores(runId, [{ metric: "m", agg: "position", layer: 0, position: 0, neuron: Int32Array.of(1, 2), r: Float64Array.of(0.1) }]),
      (e: StoreError) => e.code === "INVALID_INPUT" && /r has 1 values for 2 neurons/.test(e.message),
    );
    await assert.rejects(
      store.writeScores(runId, [{ metric: "m", agg: "position", layer: 0, position: 0, neuron: Int32Array.of(1), r: Float64Array.of(1.5) }]),
      (e: StoreError) => e.code === "INVALID_INPUT" && /\[-1, 1\]/.test(e.message),
    );
    await assert.rejects(
      store.writeScores(777, [{ metric: "m", agg: "position", layer: 0, position: 0, neuron: Int32Array.of(1), r: Float64Array.of(0.5) }]),
      (e: StoreError) => e.code === "NOT_FOUND",
    );
  });

  it("deletes one metric's scores", async () => {
    await store.deleteScores(runId, "overlap");
    const page = await store.queryScores(runId, { first: 10 });
    assert.equal(page.totalCount, oracle(rows, { metric: "label" }).length);
  });
});
