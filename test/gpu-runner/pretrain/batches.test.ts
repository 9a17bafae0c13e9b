import { test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_WEIGHT, DocStream, nextBatch } from "../../../gpu-runner/pretrain/batches.js";
import { corpusDocs, docText } from "../../../gpu-runner/pretrain/corpus.js";
import { EOS_ID, WordCodec } from "../../../gpu-runner/pretrain/tokenizer.js";

test("batches pack whole documents from position 0, shift targets by one, weight answers", () => {
  const codec = new WordCodec();
  const T = 64;
  const batch = nextBatch(new DocStream(8, codec), 6, T);
  // The stream draws documents from the corpus generator seeded with the same seed.
  const expected = corpusDocs(8, 200);
  let doc = 0;
  for (let b = 0; b < 6; b++) {
    const ids = Array.from(batch.inputIds.subarray(b * T, (b + 1) * T), Number);
    const targets = Array.from(batch.targets.subarray(b * T, (b + 1) * T), Number);
    const weights = Array.from(batch.lossMask.subarray(b * T, (b + 1) * T));
    // The row's tokens: the first input, then every counted target.
    const row = [ids[0]];
    for (let t = 0; t < T; t++) if (weights[t] > 0) row.push(targets[t]);
    for (let t = 0; t + 1 < row.length; t++) assert.equal(ids[t], row[t], "inputs are the row without its last token");
    for (let t = row.length - 1; t < T; t++) assert.equal(weights[t], 0, "no loss past the last document");
    // Every row is a sequence of whole documents, each followed by <eos>, from position 0.
    let t = 0;
    while (t < row.length) {
      const d = expected[doc++];
      const want = [...codec.encode(docText(d)), EOS_ID];
      assert.deepEqual(row.slice(t, t + want.length), want, `row ${b}, document ${doc}`);
      const answerFrom = want.length - 1 - codec.encode(d.answer).length;
      for (let i = 1; i < want.length; i++) {
        assert.equal(weights[t + i - 1], i >= answerFrom && i < want.length - 1 ? ANSWER_WEIGHT : 1, `weight of ${codec.tokens[want[i]]}`);
      }
      t += want.length;
    }
    assert.ok(row.length >= 20, "rows are filled");
    // The next document did not fit: it starts the next row.
    assert.ok(row.length + codec.encode(docText(expected[doc])).length + 1 > T + 1);
  }
  assert.equal(batch.tokens, Array.from(batch.lossMask).filter((w) => w > 0).length);
});
