import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../../gpu-runner/hf/config.js";
import { ropeInvFreq } from "../../../gpu-runner/models/rope.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const cases = JSON.parse(readFileSync(`${root}test/fixtures/models/rope.json`, "utf8")) as Array<{
  headDim: number; theta: number; scaling: Record<string, unknown> | null; invFreq: number[];
}>;

for (const c of cases) {
  test(`RoPE inv_freq ${c.scaling?.["rope_type"] ?? "default"} (hd ${c.headDim}) matches transformers`, () => {
    // Through config parsing, as a transformers 4.x config (rope_scaling) and a 5.x one (rope_parameters).
    const base = { model_type: "llama", vocab_size: 8, hidden_size: c.headDim * 2, intermediate_size: 8, num_hidden_layers: 1,
      num_attention_heads: 2, max_position_embeddings: 131072 };
    const v4 = parseConfig({ ...base, rope_theta: c.theta, rope_scaling: c.scaling });
    const v5 = parseConfig({ ...base, rope_parameters: { rope_theta: c.theta, ...(c.scaling ?? { rope_type: "default" }) } });
    for (const cfg of [v4, v5]) {
      const got = ropeInvFreq(cfg);
      assert.equal(got.length, c.invFreq.length);
      c.invFreq.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) <= 1e-6 * Math.abs(v), `inv_freq[${i}] ${got[i]} vs ${v}`));
    }
  });
}

test("unsupported rope types are named", () => {
  assert.throws(() => parseConfig({ model_type: "llama", vocab_size: 8, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1,
    num_attention_heads: 2, rope_scaling: { rope_type: "yarn", factor: 4 } }), /rope type "yarn" is not supported; supported: default, linear, llama3/);
});
