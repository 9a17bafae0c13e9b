import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ReservoirSet } from "../../../server/analysis/index.js";
import { decodeReservoirs } from "../../../server/runs/reservoir-codec.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import type { RunOptions } from "../../../server/runs/run-options.js";
import { localShardPool, planShards } from "../../../server/runs/shard-pool.js";
import type { ScoreAgg } from "../../../server/store/scores.js";
import { Store } from "../../../server/store/store.js";
import { addPlantedTask } from "../../fixtures/planted-run.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const planted = join(root, "test/fixtures/planted");
const OPTIONS: RunOptions = { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 3, seed: 1, threads: 1 };

let dir: string;
let store: Store;
let modelId: number;
let taskId: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-shards-"));
  store = await Store.open(join(dir, "runs.duckdb"));
  modelId = await store.addModel({ path: join(planted, "model"), family: "gpt2", config: {} });
  taskId = await addPlantedTask(store);
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs to the end on a manager with the given pool (none: the one-runner path); returns the run id. */
async function runWith(runners: number | null, options: RunOptions = OPTIONS): Promise<number> {
  const manager = new RunManager(store, runners === null ? {} : { shards: localShardPool(runners) });
  try {
    const run = await manager.start({ modelId, taskId, options });
    await manager.whenIdle();
    const done = await store.getRun(run.id);
    assert.equal(done.status, "done", `run with ${runners} runners ended ${done.status}: ${done.error}`);
    return run.id;
  } finally {
    await manager.close();
  }
}

/** Every stored score of a run, keyed by metric, aggregate, layer, position and neuron. */
async function allScores(runId: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await store.listMetrics(runId)) {
    for (const agg of ["position", "max_abs_r", "max_act"] as ScoreAgg[]) {
      let after: string | null = null;
      for (;;) {
        const page = await store.queryScores(runId, { metric: m.name, agg, first: 1000, after });
        for (const s of page.rows) out.set(`${m.name}/${agg}/L${s.layer}.N${s.neuron}@${s.position}`, s.r);
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
    }
  }
  return out;
}

function assertSameScores(a: Map<string, number>, b: Map<string, number>, what: string): void {
  assert.equal(b.size, a.size, `${what}: ${b.size} scores vs ${a.size}`);
  assert.ok(a.size > 256, `${what}: only ${a.size} scores`);
  let worst = 0;
  for (const [k, r] of a) {
    const other = b.get(k);
    assert.ok(other !== undefined, `${what}: no score ${k}`);
    worst = Math.max(worst, Math.abs(other - r));
  }
  assert.ok(worst < 1e-9, `${what}: largest |r| difference ${worst}`);
}

test("planShards covers every row once in contiguous shards within one row of each other", () => {
  for (const [n, k] of [[150, 1], [150, 2], [150, 7], [5, 9], [1, 3]]) {
    const shards = planShards(n, k);
    assert.equal(shards[0].start, 0);
    assert.equal(shards.at(-1)!.end, n);
    shards.forEach((s, i) => i > 0 && assert.equal(s.start, shards[i - 1].end));
    const sizes = shards.map((s) => s.end - s.start);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1 && Math.min(...sizes) >= 1, `${n}/${k}: ${sizes}`);
  }
});

test("a run extracted by 1, 2 or 3 runners (even and uneven shards) scores like one runner within 1e-9, every batch stored once", async () => {
  const single = await runWith(null);
  const reference = await allScores(single);
  const refOutputs = await store.readSampleOutputs(single);
  const refActs = await store.readActivations(single, 0);
  const refRun = await store.getRun(single);
  for (const [runners, shards] of [[1, undefined], [2, undefined], [3, 7]] as const) {
    const id = await runWith(runners, { ...OPTIONS, ...(shards ? { shards } : {}) });
    const what = `${runners} runners${shards ? `, ${shards} shards` : ""}`;
    assertSameScores(reference, await allScores(id), what);
    // the prompt was trained once, on one runner, and every shard extracted with it
    assert.deepEqual((await store.latestCheckpoint(id))!.prompt, (await store.latestCheckpoint(single))!.prompt);
    const outputs = await store.readSampleOutputs(id);
    assert.deepEqual(Array.from(outputs.sampleIdx), Array.from(refOutputs.sampleIdx), what);
    outputs.loss.forEach((l, i) => assert.ok(Math.abs(l - refOutputs.loss[i]) < 1e-9, `${what}: loss of sample ${i}`));
    const acts = await store.readActivations(id, 0);
    assert.deepEqual(Array.from(acts.sampleIdx), Array.from(refActs.sampleIdx), `${what}: each sample stored once`);
    assert.deepEqual(acts.data, refActs.data, `${what}: stored activations`);
    const run = await store.getRun(id);
    const vf = run.valFigures as { samples: number; accuracy: number; meanLoss: number };
    const rf = refRun.valFigures as typeof vf;
    assert.equal(vf.samples, rf.samples);
    assert.ok(Math.abs(vf.accuracy - rf.accuracy) < 1e-12 && Math.abs(vf.meanLoss - rf.meanLoss) < 1e-9, `${what}: ${JSON.stringify(vf)} vs ${JSON.stringify(rf)}`);
  }
});

test("storage topk over 3 runners keeps the same reservoirs and scores as one runner", async () => {
  const topk: RunOptions = { ...OPTIONS, storage: "topk", reservoirK: 8 };
  const single = await runWith(null, topk);
  const sharded = await runWith(3, { ...topk, shards: 5 });
  assertSameScores(await allScores(single), await allScores(sharded), "topk");
  // heaps fill in another order, so compare what they hold: every neuron's extremes at every position
  const [a, b] = await Promise.all([single, sharded].map(async (id) => ReservoirSet.fromSnapshot(decodeReservoirs((await store.getReservoir(id, 0))!))));
  for (const position of [0, 1, 2, 3, "max"] as const) {
    for (let neuron = 0; neuron < 64; neuron++) assert.deepEqual(b.extremes(0, position, neuron), a.extremes(0, position, neuron), `L0.N${neuron}@${position}`);
  }
});
