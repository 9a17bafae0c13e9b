import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { RunIngest } from "../../../server/runs/run-ingest.js";
import type { MetricRow } from "../../../server/runs/samples.js";
import { Store } from "../../../server/store/store.js";

/**
 * A live run's leaderboard ranks only metrics whose every streamed sample has a value: a missing
 * value is a placeholder in the streaming statistics, never a zero that enters the ranking.
 */
let dir: string;
let store: Store;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-live-board-"));
  store = await Store.open(join(dir, "db.duckdb"));
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test("a metric missing on a streamed sample has no live leaderboard; a complete one ranks its planted neuron by the r recomputed here", async () => {
  const [n, positions, dFF] = [8, 2, 3];
  const heavy = [5, 1, 4, 2, 8, 3, 7, 6];
  // "gappy" lacks a value on sample 2; the neuron that follows it must not be ranked on a zero there
  const gappy = [1, 2, Number.NaN, 4, 5, 6, 7, 8];
  const rows: MetricRow[] = heavy.map((h, i) => ({ id: `s${i}`, fields: {}, columns: { heavy: h, gappy: gappy[i]! }, answer: "a", label: undefined }));
  const modelId = await store.addModel({ path: "/none", family: "gpt2", config: {} });
  const taskId = await store.addTask({ name: "t", source: "<inline>", template: "{x}", verbalizer: null });
  const runId = await store.createRun({ modelId, taskId, config: { options: {} } });
  const ingest = new RunIngest(store, runId, { rows }, { status: async () => {}, progress: () => {}, activations: () => {} }, { metrics: ["heavy", "gappy"], storage: { mode: "full" } });
  const info = { dModel: 4, nLayers: 1, dFF, vocabSize: 10, neuronDefinition: "x", promptLength: positions, placement: "after" as const, nTrain: 0, nVal: n };
  await ingest.handle({ type: "status", runId: String(runId), seq: 0, phase: "extracting", message: "", info } as never);
  // neuron 1 at position 0 carries heavy; neuron 2 at position 1 carries gappy (2 where it is missing)
  const data = new Float32Array(n * positions * dFF);
  for (let s = 0; s < n; s++) {
    for (let j = 0; j < positions * dFF; j++) data[s * positions * dFF + j] = ((s * 7 + j * 3) % 5) / 5;
    data[s * positions * dFF + 0 * dFF + 1] = heavy[s]! * 2 + 1;
    data[s * positions * dFF + 1 * dFF + 2] = Number.isNaN(gappy[s]!) ? 2 : gappy[s]!;
  }
  await ingest.handle({
    type: "activations", runId: String(runId), seq: 1, shard: 0, batchId: 0, layer: 0, sampleIdx: Int32Array.from({ length: n }, (_, i) => i),
    positions: new Int32Array(n * positions), positionKind: "soft", nPositions: positions, dFF, data,
  } as never);
  assert.equal(ingest.leaderboard("gappy", 3), null, "gappy has a missing value among the streamed samples");
  const board = ingest.leaderboard("heavy", 1)!;
  assert.equal(board.samplesSeen, n);
  assert.deepEqual(board.entries.map((e) => [e.layer, e.index, e.bestPosition]), [[0, 1, 0]]);
  assert.ok(Math.abs(board.entries[0]!.r - 1) < 1e-9, `r = ${board.entries[0]!.r}`);
});
