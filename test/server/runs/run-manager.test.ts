import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startRunInWorker } from "../../../gpu-runner/runner/host.js";
import type { StartMessage } from "../../../gpu-runner/runner/protocol.js";
import { toRun } from "../../../server/graphql/records.js";
import { Store } from "../../../server/store/store.js";
import { RunManager, type RunManagerEvent } from "../../../server/runs/run-manager.js";
import { addPlantedTask } from "../../fixtures/planted-run.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const planted = join(root, "test/fixtures/planted");
const PLANTED_NEURON = 7;

/** Two-pass float64 Pearson: the oracle for the stored scores. */
function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { const a = x[i] - mx, b = y[i] - my; sxy += a * b; sxx += a * a; syy += b * b; }
  return sxy / Math.sqrt(sxx * syy);
}

let dir: string;
let store: Store;
let manager: RunManager;
const events: RunManagerEvent[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-runs-"));
  store = await Store.open(join(dir, "runs.duckdb"));
  manager = new RunManager(store, { leaderboardIntervalMs: 0 });
  manager.on((e) => events.push(e));
});

after(async () => {
  await manager.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a run on the planted model finds the planted neuron, with scores equal to a two-pass Pearson over stored activations", async () => {
  const modelId = await store.addModel({ path: join(planted, "model"), family: "gpt2", config: {} });
  const taskId = await addPlantedTask(store);
  const run = await manager.start({ modelId, taskId, options: { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 3, seed: 1, threads: 1 } });
  await manager.whenIdle();
  const done = await store.getRun(run.id);
  assert.equal(done.status, "done", `run ended ${done.status}: ${done.error}`);
  assert.match(done.neuronDefinition ?? "", /c_fc/);

  const top = await store.queryScores(run.id, { metric: "colors", agg: "max_abs_r", first: 64 });
  assert.equal(top.rows[0].layer, 0);
  assert.equal(top.rows[0].neuron, PLANTED_NEURON);
  assert.ok(Math.abs(top.rows[0].r) > 0.9, `planted |r| = ${top.rows[0].r}`);
  const others = top.rows.slice(1).map((s) => Math.abs(s.r)).sort((a, b) => a - b);
  assert.ok(others[Math.floor(others.length / 2)] < 0.2, `median |r| of the others = ${others[Math.floor(others.length / 2)]}`);

  // every per-position score equals the oracle computed from what the store holds
  const acts = await store.readActivations(run.id, 0);
  const metric = await store.readMetricAligned(run.id, "colors");
  const y = Array.from(acts.sampleIdx, (i) => metric.value[i]);
  const perPos = await store.queryScores(run.id, { metric: "colors", agg: "position", first: 1000 });
  assert.equal(perPos.totalCount, acts.positions * acts.dFF);
  for (const s of perPos.rows.slice(0, 50)) {
    const x = Array.from({ length: acts.sampleIdx.length }, (_, i) => acts.data[(i * acts.positions + s.position!) * acts.dFF + s.neuron]);
    assert.ok(Math.abs(pearson(x, y) - s.r) < 1e-9, `L0.N${s.neuron}@${s.position}: ${s.r} vs ${pearson(x, y)}`);
  }

  // progress reached listeners in order with store sequence numbers, then the final status
  const seqs = events.filter((e) => e.type === "progress" && e.runId === run.id).map((e) => (e as { seq: number }).seq);
  assert.ok(seqs.length >= 6);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
  const statuses = events.filter((e) => e.type === "status" && e.run.id === run.id).map((e) => (e as { run: { status: string } }).run.status);
  assert.deepEqual(statuses.slice(0, 2), ["queued", "running"]);
  assert.equal(statuses.at(-1), "done");
  assert.ok(statuses.includes("training") && statuses.includes("extracting") && statuses.includes("scoring"));
});

test("cancel stops a running run with a checkpoint, and resume continues from it", async () => {
  const modelId = await store.addModel({ path: join(planted, "model"), family: "gpt2", config: {} });
  const taskId = await addPlantedTask(store);
  // far more steps than the test waits for, so both cancels land mid-training however slow the event path is
  const steps = 100000;
  const run = await manager.start({ modelId, taskId, options: { promptLength: 4, steps, batchSize: 4, evalEvery: 0, checkpointEvery: 5, seed: 2, threads: 1 } });
  const trainingStep = (atLeast: number) => new Promise<number>((resolve) => {
    const off = manager.on((e) => {
      if (e.type === "progress" && e.runId === run.id && e.payload.phase === "training" && (e.payload.step as number) >= atLeast) {
        off();
        resolve(e.payload.step as number);
      }
    });
  });
  await trainingStep(10);
  await manager.cancel(run.id);
  await manager.whenIdle();
  assert.equal((await store.getRun(run.id)).status, "cancelled");
  const cp = await store.latestCheckpoint(run.id);
  assert.ok(cp && cp.step >= 10 && cp.step < steps, `checkpoint at step ${cp?.step}`);

  const firstResumed = trainingStep(0);
  await manager.resume(run.id);
  assert.equal(await firstResumed, cp.step + 1, "training continues right after the checkpoint");
  await manager.cancel(run.id);
  await manager.whenIdle();
  assert.equal((await store.getRun(run.id)).status, "cancelled");
  assert.ok((await store.latestCheckpoint(run.id))!.step > cp.step);
});

test("bad options are refused before a run exists", async () => {
  const before = (await store.listRuns()).length;
  await assert.rejects(manager.start({ modelId: 1, taskId: 1, options: { steps: -1 } }), /steps/);
  assert.equal((await store.listRuns()).length, before);
});

test("the runner trains on train, chooses the prompt on dev and extracts val: three disjoint sets, val in ordinal order; the kept step is reported", async () => {
  const starts: StartMessage[] = [];
  const capturing = new RunManager(store, { executor: (start, sink) => (starts.push(start), startRunInWorker(start, sink)) });
  try {
    const modelId = await store.addModel({ path: join(planted, "model"), family: "gpt2", config: {} });
    const taskId = await addPlantedTask(store);
    const run = await capturing.start({ modelId, taskId, options: { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 2, seed: 1, threads: 1 } });
    await capturing.whenIdle();
    const done = await store.getRun(run.id);
    assert.equal(done.status, "done", `run ended ${done.status}: ${done.error}`);
    const { train, dev, val } = starts[0]!.rows;
    const file = readFileSync(join(planted, "task.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; split: string });
    // oracle: the task file's own splits; dev is a part of its train rows, val is its val rows in file order
    assert.deepEqual(val.map((r) => r.id), file.filter((r) => r.split === "val").map((r) => r.id));
    const fileTrain = new Set(file.filter((r) => r.split === "train").map((r) => r.id));
    assert.ok(dev!.length > 0 && dev!.every((r) => fileTrain.has(r.id)));
    assert.equal(new Set([...train, ...dev!].map((r) => r.id)).size, fileTrain.size);
    const figures = done.trainFigures as { bestStep?: number; steps: number };
    assert.equal(toRun(done).keptPromptStep, figures.bestStep ?? figures.steps);
    assert.equal(toRun(done).trainedSteps, figures.steps);
  } finally {
    await capturing.close();
  }
});
