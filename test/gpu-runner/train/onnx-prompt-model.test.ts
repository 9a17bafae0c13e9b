import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { RunnerError } from "../../../gpu-runner/train/errors.js";
import { buildBatch, resolveLayout, type EncodedSample } from "../../../gpu-runner/train/layout.js";
import { openOnnxPromptModel, toSequences } from "../../../gpu-runner/train/onnx-prompt-model.js";
import { Rng } from "../../../gpu-runner/train/rng.js";
import { scoreAnswers, tokenScoresFromLogits } from "../../../gpu-runner/train/scoring.js";
import { initPrompt, resolveTrainConfig, trainPrompt, validate } from "../../../gpu-runner/train/train.js";
import { modelFixture, referenceCases } from "../../fixtures/model-references.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])), `${what}[${i}]: ${got[i]} vs torch ${want[i]}`);
  }
}

for (const name of ["gpt2-tiny", "qwen2-tiny", "qwen2-tiny-f16"]) {
  test(`${name}: loss, prompt gradient, answer scores and soft-position taps match the PyTorch reference`, async () => {
    const dir = modelFixture(name);
    const ref = referenceCases(name).filter((c) => c.softPrompt);
    assert.ok(ref.length >= 2);
    const { model } = openOnnxPromptModel(dir);
    try {
      const n = ref[0].softPrompt!.length;
      const layout = resolveLayout({ promptLength: n });
      const layers = Array.from({ length: model.nLayers }, (_, i) => i);
      const samples: EncodedSample[] = ref.map((c) => ({ instructionIds: c.ids.slice(0, c.insertAt!), answerIds: c.ids.slice(c.insertAt!) }));
      for (const [k, c] of ref.entries()) {
        assert.equal(c.gradLast, c.ids.length - c.insertAt!, "reference loss covers exactly the answer");
        const prompt = Float32Array.from(c.softPrompt!.flat());
        const batch = buildBatch(samples, [k], layout);
        const lg = await model.lossAndGrad(batch, prompt);
        assert.ok(Math.abs(lg.loss - c.loss) < 1e-4 * c.loss, `${c.name} loss ${lg.loss} vs ${c.loss}`);
        close(lg.grad, c.promptGrad!.flat(), 2e-4, `${c.name} prompt grad`);
        const ev = await model.evaluate(batch, prompt, { layers, positions: "soft" });
        const K = c.insertAt!;
        // the in-graph scores against a float64 log-softmax of PyTorch's answer logits
        const want = tokenScoresFromLogits(batch, Float64Array.from(c.logits.slice(K + n - 1, K + n - 1 + c.gradLast).flat()), model.vocabSize);
        close(ev.answers.logProb, want.logProb, 2e-4, `${c.name} answer log p`);
        close(ev.answers.maxLogProb, want.maxLogProb, 2e-4, `${c.name} answer max log p`);
        assert.deepEqual(ev.answers.argmax, want.argmax, `${c.name} answer argmax`);
        for (const l of layers) close(ev.taps[l], c.ffn[l].slice(K, K + n).flat(), 2e-4, `${c.name} ffn layer ${l}`);
        const s = scoreAnswers(batch, ev.answers);
        assert.ok(Math.abs(s.nllSum / batch.answerTokens - c.loss) < 1e-4 * c.loss);
      }
      // ragged rows in one batch give each row's single-row results
      const prompt = Float32Array.from(ref[0].softPrompt!.flat());
      // freeing the training sessions leaves the model whole: a later lossAndGrad compiles them again
      const first = buildBatch(samples, [0], layout);
      const before = await model.lossAndGrad(first, prompt);
      await model.releaseTraining();
      const after = await model.lossAndGrad(first, prompt);
      assert.equal(after.loss, before.loss);
      assert.deepEqual(after.grad, before.grad);
      const both = buildBatch(samples, [0, 1], layout);
      assert.deepEqual(toSequences(both).map((s) => [s.insertAt, s.lossLast]), ref.map((c) => [c.insertAt, c.gradLast]));
      const evBoth = await model.evaluate(both, prompt, { layers: [model.nLayers - 1], positions: "soft" });
      const ev1 = await model.evaluate(buildBatch(samples, [1], layout), prompt, { layers: [model.nLayers - 1], positions: "soft" });
      const per = n * model.dFF;
      close(evBoth.taps[0].subarray(per, 2 * per), ev1.taps[0], 1e-4, "row 1 taps in a batch");
      const rows = await model.embeddingRows([3, 5]);
      assert.equal(rows.length, 2 * model.dModel);
      assert.ok(rows.some((x) => x !== 0));
      await assert.rejects(model.evaluate(both, new Float32Array(3), null), (e: unknown) => e instanceof RunnerError && e.code === "BAD_INPUT" && /softPrompt/.test(e.message));
    } finally {
      await model.dispose();
    }
  });
}

test("prompt training on gpt2-tiny learns an input-dependent answer (sentiment word -> yes/no)", async () => {
  const { model, codec } = openOnnxPromptModel(modelFixture("gpt2-tiny"), { threads: 1 });
  try {
    const adjectives = ["good", "great", "bad", "awful"];
    const make = async (k: number) => {
      const out: EncodedSample[] = [];
      for (let i = 0; i < k; i++) {
        const a = adjectives[i % 4];
        out.push(await codec.encodePair(`the film was ${a}`, a === "good" || a === "great" ? "yes" : "no"));
      }
      return out;
    };
    const data = { train: await make(16), val: await make(8) };
    const layout = resolveLayout({ promptLength: 4 });
    const config = { seed: 1, maxSteps: 30, batchSize: 8, evalEvery: 10, adam: { lr: 0.1 } };
    const p0 = await initPrompt(model, 4, resolveTrainConfig(config).init, Rng.fromSeed(1));
    const before = await validate(model, data.val, layout, p0, 8);
    const res = await trainPrompt(model, data, layout, config);
    assert.ok(res.best && res.best.valLoss < before.loss - 1 && res.best.valLoss < 1, `val loss ${before.loss} -> ${res.best?.valLoss}`);
    assert.ok(res.best.valAccuracy >= 0.75, `accuracy ${res.best.valAccuracy}`);
  } finally {
    await model.dispose();
  }
});

test("a folder that is not a checkpoint is a BAD_INPUT naming it", () => {
  assert.throws(() => openOnnxPromptModel(`${root}test/fixtures/no-such-model`), (e: unknown) => e instanceof RunnerError && e.code === "BAD_INPUT" && /no-such-model/.test(e.message));
});
