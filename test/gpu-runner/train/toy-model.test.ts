import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, resolveLayout } from "../../../gpu-runner/train/layout.js";
import { Rng } from "../../../gpu-runner/train/rng.js";
import { scoreAnswers } from "../../../gpu-runner/train/scoring.js";
import { ToyPromptModel, ToyTextCodec } from "./toy-model.js";
import { TOY, toyRows, toySamples } from "./toy-task.js";

const model = new ToyPromptModel(TOY);

function randomPrompt(n: number, seed: number): Float64Array {
  const rng = Rng.fromSeed(seed);
  return Float64Array.from({ length: n * TOY.dModel }, () => rng.normal());
}

for (const placement of ["after", "prefix"] as const) {
  test(`analytic prompt gradient matches central finite differences (${placement})`, () => {
    const layout = resolveLayout({ promptLength: 3, placement });
    const samples = toySamples(toyRows(4, 3));
    samples[1] = { instructionIds: [1, 7], answerIds: [9, 4, 2] }; // ragged rows, longer answer
    const batch = buildBatch(samples, [0, 1, 2, 3], layout);
    const p = randomPrompt(3, 5);
    const { loss, grad } = model.lossAndGrad64(batch, p);
    assert.ok(Number.isFinite(loss) && loss > 0);
    const h = 1e-5;
    let maxErr = 0;
    let maxG = 0;
    for (let i = 0; i < p.length; i++) {
      const q = Float64Array.from(p);
      q[i] += h;
      const up = model.lossAndGrad64(batch, q).loss;
      q[i] -= 2 * h;
      const down = model.lossAndGrad64(batch, q).loss;
      const fd = (up - down) / (2 * h);
      maxErr = Math.max(maxErr, Math.abs(fd - grad[i]));
      maxG = Math.max(maxG, Math.abs(grad[i]));
    }
    assert.ok(maxG > 1e-3, "gradient is not trivially zero");
    assert.ok(maxErr < 1e-7 * Math.max(1, maxG) * 100, `max |fd - analytic| = ${maxErr}`);
  });
}

test("evaluate's answer scores give the same loss as lossAndGrad; taps respect causality", async () => {
  const layout = resolveLayout({ promptLength: 3 });
  const samples = toySamples(toyRows(3, 9));
  const batch = buildBatch(samples, [0, 1, 2], layout);
  const p = Float32Array.from(randomPrompt(3, 1));
  const lg = await model.lossAndGrad(batch, p);
  const out = await model.evaluate(batch, p, { layers: [0, 1], positions: "soft" });
  const s = scoreAnswers(batch, out.answers);
  assert.ok(Math.abs(s.nllSum / batch.answerTokens - lg.loss) < 1e-5);
  assert.equal(out.taps.length, 2);
  assert.equal(out.taps[0].length, 3 * 3 * TOY.dFF);
  for (const x of out.taps[1]) assert.ok(Math.abs(x) <= 1); // tanh range

  // "all" positions: the slot at a soft position equals the "soft" tap
  const all = await model.evaluate(batch, p, { layers: [1], positions: "all" });
  const T = batch.seqLen;
  const F = TOY.dFF;
  for (let r = 0; r < 3; r++) {
    for (let i = 0; i < 3; i++) {
      const t = batch.softPositions[r * 3 + i];
      assert.deepEqual(all.taps[0].subarray((r * T + t) * F, (r * T + t + 1) * F), out.taps[1].subarray((r * 3 + i) * F, (r * 3 + i + 1) * F));
    }
  }
  // soft positions come before the answer: changing the answer leaves their activations unchanged
  const other = buildBatch(samples.map((x) => ({ ...x, answerIds: [4, 4] })), [0, 1, 2], layout);
  const out2 = await model.evaluate(other, p, { layers: [0, 1], positions: "soft" });
  assert.deepEqual(out2.taps[1], out.taps[1]);
  assert.notDeepEqual(out2.answers.logProb, out.answers.logProb);
});

test("bad shapes and ids are rejected with a named reason", async () => {
  const layout = resolveLayout({ promptLength: 2 });
  const batch = buildBatch([{ instructionIds: [1, 30], answerIds: [2] }], [0], layout);
  await assert.rejects(model.lossAndGrad(batch, new Float32Array(2 * TOY.dModel)), /token id 30 is outside the toy vocabulary/);
  const ok = buildBatch([{ instructionIds: [1], answerIds: [2] }], [0], layout);
  await assert.rejects(model.evaluate(ok, new Float32Array(5), null), /prompt has 5 values/);
  await assert.rejects(model.evaluate(ok, new Float32Array(2 * TOY.dModel), { layers: [2], positions: "soft" }), /tap layer 2/);
  const codec = new ToyTextCodec(24);
  assert.deepEqual(await codec.encodePair("7 8", "3"), { instructionIds: [1, 7, 8], answerIds: [3], keepFirst: 1 });
  await assert.rejects(codec.encodeAnswer("7 x"), /answer word "x"/);
  await assert.rejects(codec.encodeAnswer("99"), /not a token id in 0..23/);
});
