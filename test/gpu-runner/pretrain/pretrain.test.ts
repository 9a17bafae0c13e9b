import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readConfig } from "../../../gpu-runner/hf/config.js";
import { readTensor, readTensorIndex } from "../../../gpu-runner/hf/safetensors.js";
import { createSession, loadModel } from "../../../gpu-runner/models/session.js";
import { writeCheckpoint } from "../../../gpu-runner/pretrain/checkpoint.js";
import { LogitsRunner } from "../../../gpu-runner/pretrain/evaluate.js";
import type { Gpt2Shape } from "../../../gpu-runner/pretrain/gpt2-params.js";
import { pretrain, type PretrainOptions } from "../../../gpu-runner/pretrain/pretrain.js";
import { WordCodec } from "../../../gpu-runner/pretrain/tokenizer.js";

const codec = new WordCodec();
const SMALL: Gpt2Shape = { vocabSize: codec.vocabSize, nPositions: 64, dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, layerNormEps: 1e-5 };
const OPTIONS: PretrainOptions = { seed: 4, steps: 40, batch: 8, seqLen: 64, lr: 5e-3, warmup: 5, minLrRatio: 0.1, weightDecay: 0.01, clip: 1, ffnL1: 0, threads: 1 };
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const TEXTS = ["12 * 7 = 84", "the doctor helped the lawyer . <sep> the lawyer helped the doctor . -> non-entailment", "the movie was not good . ->"];

/**
 * Largest difference between the logits of checkpoint `dir` run by the models helper (its GPT-2 graph
 * and `layoutBatch`'s mask) and those of the training graph for `shape` (its own mask), over TEXTS.
 */
async function reloadedVsTrainingLogits(dir: string, shape: Gpt2Shape, params: ReadonlyMap<string, Float32Array>): Promise<{ maxDiff: number; maxAbs: number }> {
  const rows = TEXTS.map((t) => codec.encode(t));
  const session = await createSession(loadModel(dir, { threads: 1 }), { logits: "all" });
  const hf = await session.run({ sequences: rows.map((ids) => ({ ids })) });
  await session.release();
  const runner = await LogitsRunner.create(shape, params, rows.length, shape.nPositions, 1);
  const ours = await runner.logits(rows);
  await runner.release();
  const V = shape.vocabSize;
  const T = hf.layout.seqLen;
  let maxDiff = 0;
  let maxAbs = 0;
  rows.forEach((r, b) => {
    for (let t = 0; t < r.length; t++) for (let v = 0; v < V; v++) {
      const a = hf.logits![(b * T + t) * V + v];
      const o = ours[(b * shape.nPositions + t) * V + v];
      maxDiff = Math.max(maxDiff, Math.abs(a - o));
      maxAbs = Math.max(maxAbs, Math.abs(a));
    }
  });
  return { maxDiff, maxAbs };
}

test("a tiny pretraining run lowers the loss, reproducibly, and its checkpoint reloads with the same logits", async () => {
  const run = await pretrain(SMALL, codec, OPTIONS);
  const first = mean(run.losses.slice(0, 3));
  const last = mean(run.losses.slice(-5));
  assert.ok(Math.abs(first - Math.log(codec.vocabSize)) < 0.5, `initial loss ${first} should be near ln V`);
  assert.ok(last < first - 1.5, `loss ${first} -> ${last}`);
  const again = await pretrain(SMALL, codec, { ...OPTIONS, steps: 3 });
  assert.deepEqual(again.losses, run.losses.slice(0, 3));

  const dir = mkdtempSync(join(tmpdir(), "pretrain-ckpt-"));
  try {
    writeCheckpoint(dir, SMALL, run.specs, run.params);
    const config = readConfig(dir);
    assert.equal(config.modelType, "gpt2");
    assert.deepEqual([config.vocabSize, config.dModel, config.nLayers, config.nHeads, config.dFF, config.maxPositions],
      [SMALL.vocabSize, SMALL.dModel, SMALL.nLayers, SMALL.nHeads, SMALL.dFF, SMALL.nPositions]);
    assert.equal(config.tieWordEmbeddings, true);
    const index = readTensorIndex(dir);
    assert.deepEqual([...index.tensors.keys()].sort(), run.specs.map((s) => s.name).sort());
    for (const s of run.specs) assert.deepEqual(readTensor(index.tensors.get(s.name)!), run.params.get(s.name));
    assert.deepEqual(index.tensors.get("h.0.attn.c_attn.weight")!.shape, [32, 96]); // Conv1D [in, out]

    // Logits of the reloaded checkpoint (the models helper's GPT-2 graph) vs the training graph's.
    const { maxDiff, maxAbs } = await reloadedVsTrainingLogits(dir, SMALL, run.params);
    assert.ok(maxAbs > 1, "logits are all tiny: the comparison would be weak");
    assert.ok(maxDiff < 1e-4 * maxAbs, `max logit difference ${maxDiff} (max |logit| ${maxAbs})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a model pretrained with an attention window writes sliding_window, and the runner attends as the training graph did", async () => {
  const windowed: Gpt2Shape = { ...SMALL, attnWindow: 4 };
  const run = await pretrain(windowed, codec, { ...OPTIONS, steps: 10 });
  const dir = mkdtempSync(join(tmpdir(), "pretrain-window-"));
  try {
    writeCheckpoint(dir, windowed, run.specs, run.params);
    assert.equal(readConfig(dir).slidingWindow, 4);
    const { maxDiff, maxAbs } = await reloadedVsTrainingLogits(dir, windowed, run.params);
    assert.ok(maxAbs > 1, "logits are all tiny: the comparison would be weak");
    assert.ok(maxDiff < 1e-4 * maxAbs, `max logit difference ${maxDiff} (max |logit| ${maxAbs})`);
    // The window matters on these texts (longer than 4 tokens): full attention gives other logits.
    const full = await reloadedVsTrainingLogits(dir, SMALL, run.params);
    assert.ok(full.maxDiff > 1e-2 * full.maxAbs, `full attention differs by ${full.maxDiff} only`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
