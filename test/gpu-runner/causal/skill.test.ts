/**
 * Ablation semantics on a checkpoint whose neuron L0.N7 reads the colour count and writes the
 * yes/no answer (test/fixtures/causal/make_skill.py): with the fixture's prompt, baseline and
 * mean-ablated accuracies equal the PyTorch reference, mean and noise ablation of L0.N7 destroy
 * the label information, and random neurons of the same layer barely matter.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CausalEvaluator } from "../../../gpu-runner/causal/evaluator.js";
import { runAblation, type ExperimentContext } from "../../../gpu-runner/causal/experiment.js";
import { encodeRows } from "../../../gpu-runner/runner/job.js";
import { resolveLayout } from "../../../gpu-runner/train/layout.js";
import { openOnnxPromptModel } from "../../../gpu-runner/train/onnx-prompt-model.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const fixture = JSON.parse(readFileSync(join(root, "test/fixtures/causal/prompt.json"), "utf8")) as {
  promptLength: number; prompt: number[][]; accuracy: number; meanAblatedAccuracy: number;
};
const rows = readFileSync(join(root, "test/fixtures/planted/task.jsonl"), "utf8").trim().split("\n")
  .map((l) => JSON.parse(l) as { id: string; text: string; label: number })
  .map((r) => ({ id: r.id, instruction: `${r.text} question`, answer: r.label ? "yes" : "no" }));
const opened = openOnnxPromptModel(join(root, "test/fixtures/causal/model"), { threads: 1 });
const layout = resolveLayout({ promptLength: fixture.promptLength, padId: opened.codec.padId });
let ctx: ExperimentContext;

before(async () => {
  const samples = await encodeRows(rows, opened.codec, "rows", layout);
  const evaluator = await CausalEvaluator.open(opened.model.loaded, [0], "soft", fixture.promptLength);
  ctx = {
    evaluator, samples, sampleIds: rows.map((r) => r.id), layout, prompt: Float32Array.from(fixture.prompt.flat()),
    batchSize: 100, decode: (ids) => opened.codec.decode(ids),
  };
});
after(async () => {
  await ctx.evaluator.release();
});

test("mean ablation of the skill neuron: accuracies equal the PyTorch reference, random neurons barely matter", async () => {
  const o = await runAblation(ctx, { kind: "ablation", neurons: [{ layer: 0, neuron: 7 }], mode: "mean", randomDraws: 20, seed: 2 });
  // one row in 300 is 0.0033: the same predictions as the reference forward
  assert.ok(Math.abs(o.baseline.accuracy - fixture.accuracy) < 1e-9, `baseline ${o.baseline.accuracy} vs ${fixture.accuracy}`);
  assert.ok(Math.abs(o.ablated.accuracy - fixture.meanAblatedAccuracy) < 1e-9, `ablated ${o.ablated.accuracy} vs ${fixture.meanAblatedAccuracy}`);
  const drop = o.baseline.accuracy - o.ablated.accuracy;
  const randomDrops = o.random.map((r) => Math.abs(o.baseline.accuracy - r.accuracy));
  assert.ok(drop > 0.4, `accuracy drop ${drop}`);
  assert.ok(Math.max(...randomDrops) < drop / 5, `random drops up to ${Math.max(...randomDrops)}`);
  assert.ok(o.ablated.changed > 0.4 && o.ablated.meanLoss > o.baseline.meanLoss);
});

test("noise ablation (matched mean and variance, no signal) also removes the label information", async () => {
  const o = await runAblation(ctx, { kind: "ablation", neurons: [{ layer: 0, neuron: 7 }], mode: "noise", randomDraws: 5, seed: 4 });
  assert.ok(o.baseline.accuracy - o.ablated.accuracy > 0.2, `noise-ablated accuracy ${o.ablated.accuracy}`);
  for (const r of o.random) assert.ok(Math.abs(o.baseline.accuracy - r.accuracy) < 0.05, `${r.name}: accuracy ${r.accuracy}`);
});
