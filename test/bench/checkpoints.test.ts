import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { randomGpt2Checkpoint } from "../../bench/checkpoints.js";
import { median, relMaxError } from "../../bench/peers/peer.js";
import { readTensor } from "../../gpu-runner/hf/safetensors.js";
import { createSession, loadModel } from "../../gpu-runner/models/index.js";

const cache = mkdtempSync(join(tmpdir(), "skillscope-bench-ckpt-"));
after(() => rmSync(cache, { recursive: true, force: true }));

const SHAPE = { vocabSize: 300, nPositions: 64, dModel: 32, nLayers: 2, nHeads: 4, dFF: 64, layerNormEps: 1e-5 };

test("randomGpt2Checkpoint writes a loadable Hugging Face folder once, then reuses it", async () => {
  const first = randomGpt2Checkpoint("tiny", SHAPE, 3, cache);
  assert.equal(first.created, true);
  assert.deepEqual(readdirSync(cache), ["tiny"], "no temporary folder is left behind");
  const model = loadModel(first.dir);
  assert.equal(model.config.dModel, 32);
  assert.equal(model.config.vocabSize, 300);
  assert.ok(model.tokenizer, "tokenizer.json loads");
  // GPT-2's initialisation: wte ~ N(0, 0.02^2)
  const wte = readTensor(model.tensors.get("wte.weight")!);
  const std = Math.sqrt(wte.reduce((s, x) => s + x * x, 0) / wte.length);
  assert.ok(Math.abs(std - 0.02) < 0.002, `wte std ${std}`);
  // a random model predicts close to uniformly: the loss is near ln(V)
  const session = await createSession(model, { softPromptLength: 2, withLoss: true });
  const out = await session.run({ sequences: [{ ids: [5, 6, 7, 8], insertAt: 2, lossLast: 2 }], softPrompt: new Float32Array(64) });
  await session.release();
  assert.ok(Math.abs(out.loss! - Math.log(300)) < 0.1, `loss ${out.loss}`);

  const again = randomGpt2Checkpoint("tiny", SHAPE, 3, cache);
  assert.deepEqual(again, { dir: first.dir, created: false });
  assert.ok(existsSync(join(first.dir, "config.json")));
});

test("median and relMaxError", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const ref = Float32Array.from([1, -4, 2]);
  assert.equal(relMaxError(Float32Array.from([1, -4, 2]), ref), 0);
  assert.equal(relMaxError(Float32Array.from([1, -3, 2]), ref), 0.25);
  assert.equal(relMaxError(Float32Array.from([1, 2]), ref), Infinity);
});
