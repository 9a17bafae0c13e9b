import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseConfig, readConfig } from "../../../gpu-runner/hf/config.js";
import { ConfigError } from "../../../gpu-runner/hf/errors.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const fixture = (name: string) => `${root}test/fixtures/models/${name}`;

test("gpt2 config: n_inner null means 4*n_embd, heads derived", () => {
  const c = readConfig(fixture("gpt2-tiny"));
  assert.equal(c.family, "gpt2");
  assert.deepEqual([c.dModel, c.nLayers, c.nHeads, c.nKvHeads, c.headDim, c.dFF, c.vocabSize, c.maxPositions],
    [32, 2, 4, 4, 8, 128, 64, 64]);
  assert.equal(c.activation, "gelu_new");
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.dtype, "float32");
  assert.equal(readConfig(fixture("gpt2-tiny-sharded")).dFF, 64);
});

test("llama transformers-5 config: dtype and rope_parameters, GQA", () => {
  const c = readConfig(fixture("llama-tiny-gqa"));
  assert.equal(c.family, "llama");
  assert.equal(c.ropeTheta, 500000);
  assert.equal(c.dtype, "float32");
  assert.deepEqual([c.nHeads, c.nKvHeads, c.headDim, c.dFF], [4, 2, 8, 64]);
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(c.qkvBias, false);
});

test("qwen2 4.x config: torch_dtype, rope_theta, biases, tied", () => {
  const c = readConfig(fixture("qwen2-tiny"));
  assert.equal(c.ropeTheta, 1e6);
  assert.equal(c.qkvBias, true);
  assert.equal(c.oBias, false);
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.normEps, 1e-6);
});

test("explicit head_dim wins over hidden/heads; bf16 dtype", () => {
  const c = readConfig(fixture("llama-tiny-bf16"));
  assert.equal(c.headDim, 8);
  assert.equal(c.nHeads, 2);
  assert.equal(c.dtype, "bfloat16");
});

test("mistral maps to the llama family", () => {
  const c = parseConfig({ model_type: "mistral", vocab_size: 10, hidden_size: 8, intermediate_size: 16,
    num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, rope_theta: 1e6 });
  assert.equal(c.family, "llama");
  assert.equal(c.headDim, 4);
});

test("unknown model_type names the supported ones", () => {
  assert.throws(() => parseConfig({ model_type: "bert" }, "x/config.json"),
    (e: unknown) => e instanceof ConfigError && /bert/.test(e.message) && /gpt2, llama, mistral, qwen2/.test(e.message) && e.field === "model_type");
});

test("bad fields are named", () => {
  assert.throws(() => parseConfig({ model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1 }),
    (e: unknown) => e instanceof ConfigError && e.field === "num_attention_heads");
  assert.throws(() => parseConfig({ model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 3, n_positions: 8 }),
    (e: unknown) => e instanceof ConfigError && e.field === "n_head");
  assert.throws(() => parseConfig({ model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8, torch_dtype: "int8" }),
    (e: unknown) => e instanceof ConfigError && e.field === "dtype");
  assert.throws(() => readConfig("/nonexistent-dir"), ConfigError);
});

test("sliding window: mistral always, qwen2 only with use_sliding_window from max_window_layers on, gpt2 as the demo writes it", () => {
  const base = { vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, sliding_window: 4096 };
  assert.equal(parseConfig({ ...base, model_type: "mistral" }).slidingWindow, 4096);
  assert.equal(parseConfig({ ...base, model_type: "qwen2", use_sliding_window: false }).slidingWindow, undefined);
  assert.equal(parseConfig({ ...base, model_type: "qwen2", use_sliding_window: true, max_window_layers: 0 }).slidingWindow, 4096);
  // transformers slides only from layer max_window_layers (default 28) on: here that is no layer...
  assert.equal(parseConfig({ ...base, model_type: "qwen2", use_sliding_window: true }).slidingWindow, undefined);
  // ...and a split between full and sliding layers is refused, not silently run one way.
  assert.throws(() => parseConfig({ ...base, model_type: "qwen2", num_hidden_layers: 4, use_sliding_window: true, max_window_layers: 2 }),
    (e: unknown) => e instanceof ConfigError && /layers 2-3 use a sliding window and layers 0-1 full attention/.test(e.message));
  // gpt2 has no window in transformers; skillscope's demo checkpoint writes one and it is read back.
  const gpt2 = { model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 32 };
  assert.equal(parseConfig(gpt2).slidingWindow, undefined);
  assert.equal(parseConfig({ ...gpt2, sliding_window: 16 }).slidingWindow, 16);
  assert.throws(() => parseConfig({ ...gpt2, sliding_window: 0 }), /"sliding_window" must be a positive integer/);
  assert.equal(parseConfig({ ...base, model_type: "mistral", sliding_window: null }).slidingWindow, undefined);
});
