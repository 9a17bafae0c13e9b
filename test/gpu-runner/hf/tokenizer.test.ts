import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadModelDir } from "../../../gpu-runner/hf/model-dir.js";
import { TextTokenizer } from "../../../gpu-runner/hf/tokenizer.js";
import { CheckpointError } from "../../../gpu-runner/hf/errors.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const fixture = (name: string) => `${root}test/fixtures/models/${name}`;

test("word-level tokenizer.json: encode/decode round trip against its vocab", async () => {
  const tok = TextTokenizer.fromDir(fixture("llama-tiny-gqa"));
  const vocab = JSON.parse(readFileSync(`${fixture("llama-tiny-gqa")}/tokenizer.json`, "utf8")).model.vocab;
  const ids = await tok.encode("the cat sat on the mat");
  assert.deepEqual(ids, ["the", "cat", "sat", "on", "the", "mat"].map((w) => vocab[w]));
  assert.equal(await tok.decode(ids), "the cat sat on the mat");
  assert.deepEqual(await tok.encode("zebra"), [vocab["[UNK]"]]);
  assert.equal(tok.vocabSize, 64);
});

test("model dir loads config, tensors, tokenizer", () => {
  const m = loadModelDir(fixture("qwen2-tiny"));
  assert.equal(m.config.modelType, "qwen2");
  assert.ok(m.tensors.has("model.layers.1.self_attn.q_proj.bias"));
  assert.ok(m.tokenizer);
  assert.throws(() => loadModelDir("/nonexistent/model"), CheckpointError);
});
