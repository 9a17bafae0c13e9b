import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "tokenizers";
import { corpusDocs, docText } from "../../../gpu-runner/pretrain/corpus.js";
import { EOS_ID, PAD_ID, tokenizerJson, UNK_ID, WordCodec } from "../../../gpu-runner/pretrain/tokenizer.js";

function loadTokenizer(): Tokenizer {
  const dir = mkdtempSync(join(tmpdir(), "pretrain-tok-"));
  try {
    const file = join(dir, "tokenizer.json");
    writeFileSync(file, JSON.stringify(tokenizerJson()));
    return Tokenizer.fromFile(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("tokenizer.json loads with the tokenizers package and matches the JS codec on the corpus", async () => {
  const hf = loadTokenizer();
  const codec = new WordCodec();
  assert.equal(hf.getVocabSize(true), codec.vocabSize);
  assert.equal(hf.tokenToId("<pad>"), PAD_ID);
  assert.equal(hf.tokenToId("<unk>"), UNK_ID);
  assert.equal(hf.tokenToId("<eos>"), EOS_ID);
  const texts = [...corpusDocs(21, 300).map(docText), " leading space", "two  spaces", "trailing ", "Upper Case Doctor", "x9y", ""];
  for (const text of texts) {
    const enc = await hf.encode(text, null, { addSpecialTokens: false });
    assert.deepEqual(codec.encode(text), enc.getIds(), text);
  }
});

test("numbers are digit tokens and decoding restores the text", async () => {
  const hf = loadTokenizer();
  const codec = new WordCodec();
  const ids = codec.encode("12 * 7 = 84");
  assert.deepEqual(ids.map((i) => codec.tokens[i]), ["▁", "1", "2", "▁*", "▁", "7", "▁=", "▁", "8", "4"]);
  // The same digit is the same token wherever it stands: the last digit of 12 and the 2 of 21.
  assert.equal(codec.encode("12")[2], codec.encode("21")[1]);
  for (const text of ["12 * 7 = 84", "84", "the doctor watched the lawyer . <sep> the lawyer watched the doctor . -> non-entailment"]) {
    const enc = codec.encode(text);
    assert.equal(await hf.decode(enc, false), text);
    assert.equal(codec.decode(enc), text);
  }
  // Instruction and answer encoded apart concatenate to the encoding of the whole document.
  assert.deepEqual([...codec.encode("12 * 7 ="), ...codec.encode("84")], codec.encode("12 * 7 = 84"));
  assert.deepEqual(codec.encode("the zebra"), [codec.encode("the")[0], UNK_ID]);
});
