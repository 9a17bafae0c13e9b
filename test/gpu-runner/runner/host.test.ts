import { test } from "node:test";
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startRunInWorker } from "../../../gpu-runner/runner/host.js";
import type { ActivationsEvent, RunnerEvent, SamplesEvent, StartMessage } from "../../../gpu-runner/runner/protocol.js";
import { RunnerError } from "../../../gpu-runner/train/errors.js";
import { TINY, TINY_MODEL, tinyRows } from "../../fixtures/tiny-checkpoint.js";

function startMessage(runId: string, train: Partial<NonNullable<StartMessage["train"]>>, extract: StartMessage["extract"] = { batchSize: 8 }): StartMessage {
  return {
    type: "start", runId, model: TINY_MODEL,
    rows: { train: tinyRows(40, 1), val: tinyRows(20, 2, "v") },
    layout: { promptLength: 4 }, train: { seed: 1, batchSize: 8, evalEvery: 5, adam: { lr: 0.1 }, ...train }, extract,
  };
}

test("worker round trip: ordered events, samples and activations for every val row, done", async () => {
  const events: RunnerEvent[] = [];
  const handle = startRunInWorker(startMessage("run-a", { maxSteps: 10, checkpointEvery: 5 }), (ev) => events.push(ev));
  const end = await handle.done;
  assert.equal(end.type, "done", JSON.stringify(end));
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i));
  assert.ok(events.every((e) => e.runId === "run-a"));
  assert.equal(events[0].type, "status");
  assert.equal(events.at(-1), end);
  const info = events.find((e) => e.type === "status" && e.info);
  assert.ok(info && info.type === "status" && info.info?.nVal === 20 && info.info.dFF === TINY.dFF && info.info.neuronDefinition === "gelu_new(c_fc(x))");
  const train = events.filter((e) => e.type === "progress" && e.phase === "training");
  assert.deepEqual(train.map((e) => (e.type === "progress" ? e.step : -1)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (const p of train) assert.ok(p.type === "progress" && Number.isFinite(p.loss) && p.loss > 0);
  assert.deepEqual(events.filter((e) => e.type === "checkpoint").map((e) => (e.type === "checkpoint" ? e.step : -1)), [5, 10]);
  const samples = events.filter((e): e is SamplesEvent => e.type === "samples");
  assert.deepEqual(samples.flatMap((s) => [...s.sampleIdx]), Array.from({ length: 20 }, (_, i) => i));
  assert.deepEqual(samples.flatMap((s) => s.sampleIds), Array.from({ length: 20 }, (_, i) => `v${i}`));
  assert.deepEqual(samples.flatMap((s) => s.prediction.map((p) => typeof p)), new Array(20).fill("string"));
  const acts = events.filter((e): e is ActivationsEvent => e.type === "activations");
  assert.deepEqual(acts.map((a) => [a.batchId, a.layer]), [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]]);
  for (const a of acts) {
    assert.ok(a.data instanceof Float32Array);
    assert.equal(a.data.length, a.sampleIdx.length * 4 * TINY.dFF);
    assert.ok(a.data.some((x) => x !== 0));
  }
  if (end.type === "done") {
    assert.equal(end.summary.train?.steps, 10);
    assert.equal(end.summary.extract?.samples, 20);
    assert.equal(end.summary.prompt.length, 4 * TINY.dModel);
  }
});

test("bad rows end with a BAD_INPUT error event naming the row", async () => {
  const msg = startMessage("run-bad", { maxSteps: 2 });
  const rows = { train: [...msg.rows.train, { id: "oops", instruction: "the film was good", answer: "" }], val: msg.rows.val };
  const end = await startRunInWorker({ ...msg, rows }, () => undefined).done;
  assert.equal(end.type, "error");
  assert.ok(end.type === "error" && end.code === "BAD_INPUT" && /rows.train\[40\] \(id oops\): answer "" encodes to no tokens/.test(end.message), JSON.stringify(end));
});

test("cancel mid-training: checkpoint then a CANCELLED error, worker ends", async () => {
  const events: RunnerEvent[] = [];
  const handle = startRunInWorker(startMessage("run-c", { maxSteps: 100000 }), (ev) => {
    events.push(ev);
    if (ev.type === "progress" && ev.step === 3) handle.cancel();
  });
  const end = await handle.done;
  assert.equal(end.type, "error");
  assert.ok(end.type === "error" && end.code === "CANCELLED");
  // the checkpoint the cancel wrote is the last one (a timed checkpoint may come earlier)
  const ck = events.filter((e) => e.type === "checkpoint").at(-1);
  // the tiny model trains fast and a busy main thread may deliver the cancel late: "mid-training" means
  // after the step that asked for it and well before the last one
  assert.ok(ck && ck.type === "checkpoint" && ck.step >= 3 && ck.step < 100000, JSON.stringify(ck && { step: (ck as { step: number }).step }));
});

test("a worker that dies is reported: synthesized WORKER_EXITED event and a rejected promise", async () => {
  const events: RunnerEvent[] = [];
  const handle = startRunInWorker(startMessage("run-x", { maxSteps: 100000 }), (ev) => events.push(ev), {
    workerUrl: new URL("./crash-worker.js", import.meta.url),
  });
  await assert.rejects(handle.done, (e: unknown) => e instanceof RunnerError && e.code === "WORKER_EXITED" && /code 3/.test(e.message));
  const last = events.at(-1)!;
  assert.equal(last.type, "error");
  assert.ok(last.type === "error" && last.code === "WORKER_EXITED");
  assert.equal(last.seq, events.length - 1, "synthesized event continues the sequence");
});

test("the main thread stays responsive while the worker trains", async () => {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t0 = performance.now();
  const handle = startRunInWorker(startMessage("run-lag", { maxSteps: 40, batchSize: 16, evalEvery: 100 }), () => undefined);
  // keep the main thread doing small timer work, as a server would
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const end = await handle.done;
  clearInterval(timer);
  h.disable();
  const busyMs = performance.now() - t0;
  assert.equal(end.type, "done");
  assert.ok(busyMs > 100, `the worker ran long enough to measure (${busyMs.toFixed(0)} ms)`);
  const p99 = h.percentile(99) / 1e6;
  assert.ok(p99 < 200, `event-loop delay p99 ${p99.toFixed(1)} ms`);
  assert.ok(ticks > 10);
});

test("a sink that throws stops the worker and rejects done with the sink's error", async () => {
  const handle = startRunInWorker(startMessage("run-sink", { maxSteps: 100000 }), (ev) => {
    if (ev.type === "progress") throw new Error("store is full");
  });
  await assert.rejects(handle.done, /store is full/);
});
