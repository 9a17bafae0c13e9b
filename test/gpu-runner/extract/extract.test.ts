import { test } from "node:test";
import assert from "node:assert/strict";
import { extract, type ActivationBatch, type SampleOutputBatch } from "../../../gpu-runner/extract/extract.js";
import { RunnerError } from "../../../gpu-runner/train/errors.js";
import { buildBatch, resolveLayout } from "../../../gpu-runner/train/layout.js";
import { Rng } from "../../../gpu-runner/train/rng.js";
import { scoreAnswers } from "../../../gpu-runner/train/scoring.js";
import { ToyPromptModel } from "../train/toy-model.js";
import { TOY, toyRows, toySamples } from "../train/toy-task.js";

const model = new ToyPromptModel(TOY);
const n = 4;
const layout = resolveLayout({ promptLength: n });
const rng = Rng.fromSeed(21);
const prompt = Float32Array.from({ length: n * TOY.dModel }, () => rng.normal());
const samples = toySamples(toyRows(11, 5, "v", " 5 7"));
const decode = (ids: readonly number[]) => ids.join(" ");

async function collect(config: Parameters<typeof extract>[4], extra: { signal?: AbortSignal; startBatch?: number } = {}) {
  const sampleOut: SampleOutputBatch[] = [];
  const acts: ActivationBatch[] = [];
  const summary = await extract(model, samples, layout, prompt, config, { decode, onSamples: (s) => sampleOut.push(s), onActivations: (a) => acts.push(a), ...extra });
  return { summary, sampleOut, acts };
}

test("per-sample outputs agree with single-sample forwards; activations per layer per batch [b, n, dFF]", async () => {
  const { summary, sampleOut, acts } = await collect({ batchSize: 4 });
  assert.equal(summary.samples, 11);
  assert.equal(summary.batches, 3);
  assert.deepEqual(summary.layers, [0, 1]);
  assert.deepEqual(sampleOut.map((s) => s.sampleIdx.length), [4, 4, 3]);
  assert.deepEqual(acts.map((a) => [a.batchId, a.layer, a.sampleIdx.length]), [[0, 0, 4], [0, 1, 4], [1, 0, 4], [1, 1, 4], [2, 0, 3], [2, 1, 3]]);
  let correct = 0;
  for (const s of sampleOut) {
    for (let r = 0; r < s.sampleIdx.length; r++) {
      const i = s.sampleIdx[r];
      const single = buildBatch(samples, [i], layout);
      const ref = model.lossAndGrad64(single, prompt).loss; // mean CE of this sample alone
      assert.ok(Math.abs(s.loss[r] - ref) < 1e-5, `loss of sample ${i}`);
      assert.ok(Math.abs(Math.log(s.goldProb[r]) + ref * samples[i].answerIds.length) < 1e-4);
      assert.ok(s.confidence[r] > 0 && s.confidence[r] <= 1);
      assert.equal(s.correct[r], s.prediction[r] === decode(Array.from(samples[i].answerIds)) ? 1 : 0);
      assert.equal(s.predictionIds[r].length, 3);
      correct += s.correct[r];
    }
  }
  assert.equal(summary.accuracy, correct / 11);
  for (const a of acts) {
    const b = a.sampleIdx.length;
    assert.equal(a.nPositions, n);
    assert.equal(a.dFF, TOY.dFF);
    assert.equal(a.data.length, b * n * TOY.dFF);
    assert.equal(a.data.byteLength, a.data.buffer.byteLength, "owns its buffer (transferable)");
    assert.deepEqual([...a.positions], Array.from({ length: b * n }, (_, k) => k % n));
    // batch invariance: the same sample forwarded alone has the same activations
    const r = b - 1;
    const alone = await model.evaluate(buildBatch(samples, [a.sampleIdx[r]], layout), prompt, { layers: [a.layer], positions: "soft" });
    const F = TOY.dFF;
    const got = a.data.subarray(r * n * F, (r + 1) * n * F);
    for (let k = 0; k < got.length; k++) assert.ok(Math.abs(got[k] - alone.taps[0][k]) < 1e-6);
  }
});

test("greedy predictions equal step-by-step autoregressive decoding", async () => {
  const { sampleOut } = await collect({ batchSize: 6, layers: [1] });
  const tf = await collect({ batchSize: 6, layers: [1], decoding: "teacher-forced" });
  let differs = 0;
  for (const [bi, s] of sampleOut.entries()) {
    for (let r = 0; r < s.sampleIdx.length; r++) {
      const i = s.sampleIdx[r];
      const len = samples[i].answerIds.length;
      const pred: number[] = [];
      for (let j = 0; j < len; j++) {
        const answerIds = [...pred, ...new Array(len - j).fill(4)];
        const b = buildBatch([{ instructionIds: samples[i].instructionIds, answerIds }], [0], layout);
        const out = await model.evaluate(b, prompt, null);
        pred.push(scoreAnswers(b, out.answers).argmax[j]);
      }
      assert.deepEqual(s.predictionIds[r], pred, `sample ${i}`);
      if (tf.sampleOut[bi].prediction[r] !== s.prediction[r]) differs++;
      assert.equal(tf.sampleOut[bi].correct[r], s.correct[r]);
    }
  }
  assert.ok(differs > 0, "the untrained prompt leaves the gold path, so greedy and teacher-forced differ somewhere");
});

test("all positions: [b, T, dFF] with zeroed padding and -1 positions", async () => {
  const ragged = [{ instructionIds: [1, 7, 8, 9], answerIds: [2] }, { instructionIds: [1], answerIds: [3] }];
  const acts: ActivationBatch[] = [];
  await extract(model, ragged, layout, prompt, { batchSize: 2, layers: [0], positions: "all" }, { decode, onActivations: (a) => acts.push(a) });
  const [a] = acts;
  const T = 4 + n + 1;
  const F = TOY.dFF;
  assert.equal(a.nPositions, T);
  assert.deepEqual([...a.positions.subarray(T)], [0, 1, 2, 3, 4, 5, -1, -1, -1]);
  assert.ok(a.data.subarray((T + 6) * F, 2 * T * F).every((x) => x === 0));
  assert.ok(a.data.subarray(T * F, (T + 6) * F).some((x) => x !== 0));
});

test("cancel, startBatch and bad config", async () => {
  const ctl = new AbortController();
  ctl.abort();
  await assert.rejects(collect({ batchSize: 4 }, { signal: ctl.signal }), (e: unknown) => e instanceof RunnerError && e.code === "CANCELLED");
  const { sampleOut } = await collect({ batchSize: 4 }, { startBatch: 2 });
  assert.deepEqual(sampleOut.map((s) => s.batchId), [2]);
  await assert.rejects(collect({ layers: [5] }), /extract.layers: 5 is outside 0..1/);
  await assert.rejects(collect({ batchSize: 0 }), /extract.batchSize/);
});

test("content scores: the first token whose text is not a word boundary; loss and top probability there match float64 single-sample forwards", async () => {
  // token 4 decodes to a lone Metaspace boundary; half of the answers start with it
  const BOUNDARY = 4;
  const decodeText = (ids: readonly number[]) => ids.map((id) => (id === BOUNDARY ? "\u2581" : String(id))).join("");
  const base = toySamples(toyRows(6, 8, "c", " 5 7"));
  const mixed = base.map((s, i) => (i % 2 === 0 ? { ...s, answerIds: [BOUNDARY, ...Array.from(s.answerIds)] } : s));
  const outs: SampleOutputBatch[] = [];
  await extract(model, mixed, layout, prompt, { batchSize: 4 }, { decode: decodeText, onSamples: (s) => outs.push(s) });
  // oracle: answer token c's cross-entropy is (c+1) L(answer[0..c]) - c L(answer[0..c-1]), L the float64 mean loss of one sample
  const meanLoss = (i: number, answerIds: number[]) =>
    model.lossAndGrad64(buildBatch([{ instructionIds: mixed[i].instructionIds, answerIds }], [0], layout), prompt).loss;
  const tokenCe = (i: number, prefix: number[], next: number) =>
    (prefix.length + 1) * meanLoss(i, [...prefix, next]) - (prefix.length ? prefix.length * meanLoss(i, prefix) : 0);
  let checked = 0;
  for (const s of outs) {
    for (let r = 0; r < s.sampleIdx.length; r++) {
      const i = s.sampleIdx[r];
      const answer = Array.from(mixed[i].answerIds);
      const c = i % 2 === 0 ? 1 : 0;
      assert.equal(s.contentToken[r], c, `content token of sample ${i}`);
      const prefix = answer.slice(0, c);
      assert.ok(Math.abs(s.contentLoss[r] - tokenCe(i, prefix, answer[c])) < 1e-5, `content loss of sample ${i}`);
      let top = 0;
      for (let v = 0; v < TOY.vocabSize; v++) top = Math.max(top, Math.exp(-tokenCe(i, prefix, v)));
      assert.ok(Math.abs(s.contentConfidence[r] - top) < 1e-5, `content confidence of sample ${i}`);
      if (c === 0) assert.equal(s.contentConfidence[r], s.confidence[r]);
      checked++;
    }
  }
  assert.equal(checked, 6);
  // an answer of boundary pieces only has no content token
  const empty: SampleOutputBatch[] = [];
  await extract(model, [{ ...mixed[0], answerIds: [BOUNDARY, BOUNDARY] }], layout, prompt, {}, { decode: decodeText, onSamples: (s) => empty.push(s) });
  assert.equal(empty[0].contentToken[0], -1);
  assert.ok(Number.isNaN(empty[0].contentLoss[0]) && Number.isNaN(empty[0].contentConfidence[0]));
});
