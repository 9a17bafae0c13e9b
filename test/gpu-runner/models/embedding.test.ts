import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadModelDir } from "../../../gpu-runner/hf/model-dir.js";
import { embeddingTensor, readEmbeddingRows } from "../../../gpu-runner/models/embedding.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

test("embedding rows come from the right tensor for each naming style and dtype", () => {
  for (const [name, tensor] of [["gpt2-tiny", "wte.weight"], ["gpt2-tiny-sharded", "transformer.wte.weight"], ["llama-tiny-bf16", "model.embed_tokens.weight"]]) {
    const m = loadModelDir(`${root}test/fixtures/models/${name}`);
    const t = embeddingTensor(m);
    assert.equal(t.name, tensor);
    const rows = readEmbeddingRows(m, [7, 2, 7]);
    const d = m.config.dModel;
    assert.equal(rows.length, 3 * d);
    assert.deepEqual(rows.subarray(0, d), rows.subarray(2 * d, 3 * d));
    // Independent decode of row 2 from the raw bytes.
    const raw = readFileSync(t.path).subarray(t.offset, t.offset + t.length);
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    for (let j = 0; j < d; j++) {
      let v: number;
      if (t.dtype === "F32") v = raw.readFloatLE((2 * d + j) * 4);
      else if (t.dtype === "BF16") { u[0] = raw.readUInt16LE((2 * d + j) * 2) << 16; v = f[0]!; }
      else { const h = raw.readUInt16LE((2 * d + j) * 2); const e = (h >> 10) & 31, m2 = h & 1023; v = (h >> 15 ? -1 : 1) * (e ? (1 + m2 / 1024) * 2 ** (e - 15) : m2 * 2 ** -24); }
      assert.equal(rows[d + j], Math.fround(v));
    }
    assert.throws(() => readEmbeddingRows(m, [64]), RangeError);
  }
});
