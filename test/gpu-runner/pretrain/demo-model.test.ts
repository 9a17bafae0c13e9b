import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModelDir } from "../../../gpu-runner/hf/model-dir.js";
import { readTensor } from "../../../gpu-runner/hf/safetensors.js";
import { LogitsRunner, taskAccuracy } from "../../../gpu-runner/pretrain/evaluate.js";
import { DEMO_SHAPE, type Gpt2Shape } from "../../../gpu-runner/pretrain/gpt2-params.js";
import { arithRows, nliRows, sentimentRows } from "../../../gpu-runner/pretrain/tasks.js";
import { tokenizerJson, WordCodec } from "../../../gpu-runner/pretrain/tokenizer.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const dir = join(root, "demo", "model");

/** The training graph's greedy runner on the committed weights, with the checkpoint's attention window. */
async function demoRunner(): Promise<LogitsRunner> {
  const m = loadModelDir(dir);
  const shape: Gpt2Shape = { ...DEMO_SHAPE, vocabSize: m.config.vocabSize, attnWindow: m.config.slidingWindow };
  const params = new Map([...m.tensors].map(([name, info]) => [name, readTensor(info)]));
  return LogitsRunner.create(shape, params, 100, shape.nPositions, 1);
}

test("the committed demo model is a loadable GPT-2 checkpoint under 25 MB with the demo tokenizer", () => {
  const m = loadModelDir(dir, { requireTokenizer: true });
  assert.equal(m.config.modelType, "gpt2");
  assert.deepEqual([m.config.nLayers, m.config.dModel, m.config.nHeads, m.config.dFF, m.config.maxPositions, m.config.slidingWindow],
    [DEMO_SHAPE.nLayers, DEMO_SHAPE.dModel, DEMO_SHAPE.nHeads, DEMO_SHAPE.dFF, DEMO_SHAPE.nPositions, DEMO_SHAPE.attnWindow]);
  assert.ok(statSync(join(dir, "model.safetensors")).size < 25 * 1024 * 1024);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")), tokenizerJson());
  assert.ok(!m.tensors.has("lm_head.weight"), "the head is tied to wte");
});

test("the committed demo model does its tasks above chance (greedy, 20 filler words where the soft prompt goes)", async () => {
  const codec = new WordCodec();
  const runner = await demoRunner();
  try {
    // The whole val split (300): in its first 100 rows an (overlap, label) cell holds about 37 pairs,
    // a standard error of 0.07 on the accuracies checked here.
    const val = <T extends Record<string, unknown>>(rows: T[]) => rows.filter((r) => r.split === "val");
    const sentiment = await taskAccuracy(runner, codec, "sentiment", val(sentimentRows(2)), 20);
    assert.ok(sentiment.accuracy >= 0.75, `sentiment accuracy ${sentiment.accuracy}`);
    const nli = await taskAccuracy(runner, codec, "nli-hans", val(nliRows(3)), 20);
    // The MNLI-like corpus taught the overlap heuristic: right where it holds...
    assert.ok(nli.detail["overlap=true,entailment"] >= 0.8, JSON.stringify(nli.detail));
    assert.ok(nli.detail["overlap=false,non-entailment"] >= 0.9, JSON.stringify(nli.detail));
    // ...and mostly fooled where HANS breaks it.
    assert.ok(nli.detail["overlap=true,non-entailment"] <= 0.5, JSON.stringify(nli.detail));
  } finally {
    await runner.release();
  }
});

test("the committed demo model gets the last digit of held-out products above the majority digit", { todo: "its 2000 steps on the broad corpus left arithmetic nearly unlearnt: last digit 0.19 after the 20-word gap (0.31 of all 300 without it) vs the majority digit's 0.27 (demo/README.md)" }, async () => {
  const codec = new WordCodec();
  const runner = await demoRunner();
  try {
    const firstVal = <T extends Record<string, unknown>>(rows: T[]) => rows.filter((r) => r.split === "val").slice(0, 100);
    const arith = await taskAccuracy(runner, codec, "arith", firstVal(arithRows(4)), 20);
    const rows = firstVal(arithRows(4));
    const counts = new Array<number>(10).fill(0);
    for (const r of rows) counts[Number(String(r.answer).at(-1))]++;
    // Beat always answering the commonest last digit (0: a factor ends in 0, or 5 times even).
    const majority = Math.max(...counts) / rows.length;
    assert.ok(arith.detail.lastDigit >= majority + 0.15, `${JSON.stringify(arith.detail)} vs majority ${majority}`);
  } finally {
    await runner.release();
  }
});
