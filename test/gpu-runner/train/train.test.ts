import { test } from "node:test";
import assert from "node:assert/strict";
import { RunnerError } from "../../../gpu-runner/train/errors.js";
import { resolveLayout } from "../../../gpu-runner/train/layout.js";
import { ToyPromptModel } from "./toy-model.js";
import { learningRate, plannedSteps, resolveTrainConfig, trainPrompt, validate, type TrainCheckpoint, type TrainConfig, type TrainProgress } from "../../../gpu-runner/train/train.js";
import { TOY, toyRows, toySamples } from "./toy-task.js";

const model = new ToyPromptModel(TOY);
const layout = resolveLayout({ promptLength: 4 });
const data = { train: toySamples(toyRows(40, 1)), val: toySamples(toyRows(24, 2, "v")) };

test("training lowers the validation loss by a clear margin and keeps the best prompt", async () => {
  const config: Partial<TrainConfig> = { seed: 3, maxSteps: 60, batchSize: 8, evalEvery: 10, adam: { lr: 1 } };
  const progress: TrainProgress[] = [];
  const res = await trainPrompt(model, data, layout, config, { onProgress: (p) => progress.push(p) });
  // validation loss of the seeded initial prompt, recomputed independently of the loop
  const { initPrompt } = await import("../../../gpu-runner/train/train.js");
  const { Rng } = await import("../../../gpu-runner/train/rng.js");
  const p0 = await initPrompt(model, 4, resolveTrainConfig(config).init, Rng.fromSeed(3));
  const before = await validate(model, data.val, layout, p0, 16);
  assert.ok(res.best, "validation ran");
  assert.ok(res.best.valLoss < before.loss - 2, `val loss ${before.loss} -> ${res.best.valLoss}`);
  // the best constant answer distribution scores the label entropy; the trained prompt gets close to it
  const q = data.val.filter((s) => s.answerIds[0] === 2).length / data.val.length;
  const entropy = -(q * Math.log(q) + (1 - q) * Math.log(1 - q));
  assert.ok(res.best.valLoss < entropy + 0.1, `val loss ${res.best.valLoss} vs label entropy ${entropy}`);
  assert.ok(res.best.valAccuracy >= Math.max(q, 1 - q) - 0.05, `accuracy ${res.best.valAccuracy}`);
  const again = await validate(model, data.val, layout, res.prompt, 7);
  assert.ok(Math.abs(again.loss - res.best.valLoss) < 1e-9, "returned prompt is the best one");
  const vals = progress.filter((p) => p.valLoss !== undefined);
  assert.deepEqual(vals.map((p) => p.step), [10, 20, 30, 40, 50, 60]);
  assert.equal(Math.min(...vals.map((p) => p.valLoss!)), res.best.valLoss);
  // progress: every step in order, sensible rates
  assert.deepEqual(progress.map((p) => p.step), Array.from({ length: 60 }, (_, i) => i + 1));
  for (const p of progress) {
    assert.ok(p.tokensPerSec > 0 && Number.isFinite(p.etaSec) && p.etaSec >= 0 && p.totalSteps === 60);
  }
  assert.equal(progress.at(-1)!.etaSec, 0);
  assert.equal(progress.at(-1)!.epoch, 60 * 8 / 40);
});

test("resume from a checkpoint reproduces the uninterrupted run exactly", async () => {
  const config: Partial<TrainConfig> = {
    seed: 9, maxSteps: 14, batchSize: 3, gradAccumulation: 2, evalEvery: 3, checkpointEvery: 5, adam: { lr: 0.05 },
    schedule: "linear", warmupSteps: 2, clipNorm: 0.5,
  };
  const full: TrainProgress[] = [];
  const checkpoints: TrainCheckpoint[] = [];
  const a = await trainPrompt(model, data, layout, config, { onProgress: (p) => full.push(p), onCheckpoint: (c) => checkpoints.push(c) });
  assert.deepEqual(checkpoints.map((c) => c.step), [5, 10, 14]);
  for (const ck of checkpoints.slice(0, 2)) {
    const rest: TrainProgress[] = [];
    const b = await trainPrompt(model, data, layout, config, { resume: structuredClone(ck), onProgress: (p) => rest.push(p) });
    assert.deepEqual(b.finalPrompt, a.finalPrompt);
    assert.deepEqual(b.prompt, a.prompt);
    assert.equal(b.best?.step, a.best?.step);
    const strip = (p: TrainProgress) => [p.step, p.loss, p.lr, p.gradNorm, p.valLoss, p.valAccuracy, p.epoch];
    assert.deepEqual(rest.map(strip), full.slice(ck.step).map(strip));
  }
});

test("cancel stops at a microbatch, emits a resumable checkpoint", async () => {
  const config: Partial<TrainConfig> = { seed: 4, maxSteps: 10, batchSize: 4, gradAccumulation: 2, evalEvery: 4, adam: { lr: 0.05 } };
  const full = await trainPrompt(model, data, layout, config);
  const ctl = new AbortController();
  const cks: TrainCheckpoint[] = [];
  await assert.rejects(
    trainPrompt(model, data, layout, config, { signal: ctl.signal, onProgress: (p) => p.step === 6 && ctl.abort(), onCheckpoint: (c) => cks.push(c) }),
    (e: unknown) => e instanceof RunnerError && e.code === "CANCELLED",
  );
  assert.equal(cks.length, 1);
  assert.equal(cks[0].step, 6);
  const resumed = await trainPrompt(model, data, layout, config, { resume: cks[0] });
  assert.deepEqual(resumed.finalPrompt, full.finalPrompt);
});

test("cancel during a validation saves the step just taken; the resumed run repeats that validation", async () => {
  const config: Partial<TrainConfig> = { seed: 4, maxSteps: 10, batchSize: 4, evalEvery: 4, adam: { lr: 0.05 } };
  const full: TrainProgress[] = [];
  const uninterrupted = await trainPrompt(model, data, layout, config, { onProgress: (p) => full.push(p) });
  // the cancel lands inside the step-8 validation, deterministically: the model aborts on that evaluate call
  const ctl = new AbortController();
  let evaluations = 0;
  const cancelling = Object.create(model, {
    evaluate: { value: (...args: Parameters<typeof model.evaluate>) => (++evaluations === Math.ceil(data.val.length / 16) + 1 && ctl.abort(), model.evaluate(...args)) },
  }) as typeof model;
  const cks: TrainCheckpoint[] = [];
  await assert.rejects(
    trainPrompt(cancelling, data, layout, config, { signal: ctl.signal, onCheckpoint: (c) => cks.push(c) }),
    (e: unknown) => e instanceof RunnerError && e.code === "CANCELLED",
  );
  assert.equal(cks.length, 1, "one checkpoint, written by the cancel");
  assert.equal(cks[0].step, 8);
  assert.equal(cks[0].evalPending, true);
  const rest: TrainProgress[] = [];
  const resumed = await trainPrompt(model, data, layout, config, { resume: structuredClone(cks[0]), onProgress: (p) => rest.push(p) });
  assert.deepEqual(resumed.finalPrompt, uninterrupted.finalPrompt);
  assert.deepEqual(resumed.prompt, uninterrupted.prompt);
  assert.equal(resumed.best?.step, uninterrupted.best?.step);
  assert.equal(resumed.best?.valLoss, uninterrupted.best?.valLoss);
  assert.deepEqual(rest.map((p) => [p.step, p.valLoss]), full.slice(8).map((p) => [p.step, p.valLoss]));
});

test("early stopping after `patience` validations without improvement", async () => {
  const res = await trainPrompt(model, data, layout, { seed: 1, maxSteps: 100, evalEvery: 5, patience: 2, minDelta: 100, adam: { lr: 0.05 } });
  assert.equal(res.stoppedEarly, true);
  assert.equal(res.steps, 15);
  assert.equal(res.best?.step, 5);
});

test("gradient accumulation over two microbatches equals one batch of both", async () => {
  const one = await trainPrompt(model, data, layout, { seed: 2, maxSteps: 1, batchSize: 8, gradAccumulation: 1, evalEvery: 0 });
  const acc = await trainPrompt(model, data, layout, { seed: 2, maxSteps: 1, batchSize: 4, gradAccumulation: 2, evalEvery: 0 });
  for (let i = 0; i < one.finalPrompt.length; i++) assert.ok(Math.abs(one.finalPrompt[i] - acc.finalPrompt[i]) < 1e-6);
  assert.ok(Math.abs(one.finalLoss - acc.finalLoss) < 1e-6);
});

test("ids init repeats the given tokens' embeddings over the prompt", async () => {
  const res = await trainPrompt(model, { train: data.train, val: [] }, layout, { seed: 5, maxSteps: 1, init: { kind: "ids", ids: [3, 1] }, adam: { lr: 1e-9 } });
  const rows = await model.embeddingRows([3, 1, 3, 1]);
  for (let i = 0; i < rows.length; i++) assert.ok(Math.abs(res.finalPrompt[i] - rows[i]) < 1e-6);
  await assert.rejects(trainPrompt(model, { train: data.train, val: [] }, layout, { seed: 5, maxSteps: 1, init: { kind: "ids", ids: [] } }), /no tokens/);
});

test("vocabulary init (the default) takes embedding rows; normal init stays an option; configuration errors are named", async () => {
  assert.deepEqual(resolveTrainConfig({}).init, { kind: "vocab" });
  const rows = await model.embeddingRows(Array.from({ length: TOY.vocabSize }, (_, i) => i));
  const d = TOY.dModel;
  const isVocabRow = (row: Float32Array) => Array.from({ length: TOY.vocabSize }, (_, k) => k).some((k) => row.every((x, c) => Math.abs(x - rows[k * d + c]) < 1e-6));
  for (const init of [{ kind: "vocab" as const }, undefined]) {
    const res = await trainPrompt(model, { train: data.train, val: [] }, layout, { seed: 5, maxSteps: 1, ...(init ? { init } : {}), adam: { lr: 1e-9 } });
    for (let i = 0; i < 4; i++) assert.ok(isVocabRow(res.finalPrompt.subarray(i * d, (i + 1) * d)), `prompt row ${i} is a vocabulary embedding (init ${init?.kind ?? "default"})`);
    assert.equal(res.best, null);
  }
  const normal = await trainPrompt(model, { train: data.train, val: [] }, layout, { seed: 5, maxSteps: 1, init: { kind: "normal", scale: 0.5 }, adam: { lr: 1e-9 } });
  assert.ok(!isVocabRow(normal.finalPrompt.subarray(0, d)), "normal init draws fresh values");
  const res = normal;
  assert.equal(res.best, null);
  assert.throws(() => resolveTrainConfig({ batchSize: 0 }), /train.batchSize must be an integer >= 1/);
  assert.throws(() => resolveTrainConfig({ maxSteps: undefined }), /give maxSteps or epochs/);
  assert.throws(() => resolveTrainConfig({ init: { kind: "normal", scale: -1 } }), /init.scale/);
  await assert.rejects(trainPrompt(model, { train: [], val: [] }, layout, {}), /no samples/);
  const bad = { ...(await trainPrompt(model, data, layout, { maxSteps: 1, evalEvery: 0 })).lastCheckpoint, promptLength: 5 };
  await assert.rejects(trainPrompt(model, data, layout, { maxSteps: 2 }, { resume: bad }), (e: unknown) => e instanceof RunnerError && e.code === "BAD_CHECKPOINT");
});

test("schedule and planned steps", () => {
  const c = resolveTrainConfig({ epochs: 2, batchSize: 8, gradAccumulation: 2, schedule: "linear", warmupSteps: 2 });
  assert.equal(c.maxSteps, undefined);
  assert.equal(plannedSteps(c, 40), 5); // 5 microbatches per epoch, 10 in all, 2 per step
  assert.equal(learningRate(c, 1, 1, 10), 0.5);
  assert.equal(learningRate(c, 1, 2, 10), 1);
  assert.equal(learningRate(c, 1, 3, 10), 1);
  assert.equal(learningRate(c, 1, 10, 10), 1 / 8);
});

test("a non-finite loss stops training with NON_FINITE", async () => {
  // the real toy model, with its loss corrupted after two steps (as overflowing weights would)
  let calls = 0;
  const broken = Object.create(model) as ToyPromptModel;
  broken.lossAndGrad = async (batch, prompt) => {
    const out = await model.lossAndGrad(batch, prompt);
    return ++calls > 2 ? { ...out, loss: NaN } : out;
  };
  await assert.rejects(trainPrompt(broken, data, layout, { maxSteps: 5, evalEvery: 0 }), (e: unknown) => e instanceof RunnerError && e.code === "NON_FINITE" && /step 3/.test(e.message));
});
