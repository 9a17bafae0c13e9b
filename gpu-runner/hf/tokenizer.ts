import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "tokenizers";
import { CheckpointError } from "./errors.js";
import { parseJsonText } from "./json-text.js";

/** Text <-> token ids through a model folder's tokenizer.json (Hugging Face `tokenizers`). */
export class TextTokenizer {
  private constructor(private readonly inner: Tokenizer, readonly file: string) {}

  /** Loads `<dir>/tokenizer.json`; throws CheckpointError when it is missing or unreadable. */
  static fromDir(dir: string): TextTokenizer {
    const file = join(dir, "tokenizer.json");
    if (!existsSync(file)) {
      throw new CheckpointError(`tokenizer.json: not found in ${dir}; download it with the model`, "tokenizer.json");
    }
    const invalid = (problem: string) => new CheckpointError(`tokenizer.json: ${problem}; re-download it with the model`, "tokenizer.json");
    parseJsonText(readFileSync(file, "utf8"), invalid);
    try {
      return new TextTokenizer(Tokenizer.fromFile(file), file);
    } catch (e) {
      throw invalid(unquotedLoadError((e as Error).message));
    }
  }

  /** Token ids of `text`; special tokens (BOS, ...) only when `addSpecialTokens`. */
  async encode(text: string, addSpecialTokens = false): Promise<number[]> {
    const enc = await this.inner.encode(text, null, { addSpecialTokens });
    return enc.getIds();
  }

  /**
   * One example tokenized as the answer continues the instruction, as lm-eval-harness does: the
   * text instruction + " " + answer (no space added when either side already has whitespace there)
   * is encoded once, with special tokens, and split at the character boundary: tokens ending past
   * the instruction (whose trailing whitespace moves to the answer) are the answer's, so a BPE
   * tokenizer gives " positive" after "Sentiment:", not "positive". Special tokens the tokenizer adds
   * before the text (BOS) lead the instruction and are counted in keepFirst; any it adds after the
   * text (EOS) are dropped.
   */
  async encodePair(instruction: string, answer: string): Promise<{ instructionIds: number[]; answerIds: number[]; keepFirst: number }> {
    const context = instruction.trimEnd();
    const delimiter = answer !== "" && !/\s$/u.test(instruction) && !/^\s/u.test(answer) ? " " : "";
    const enc = await this.inner.encode(context + instruction.slice(context.length) + delimiter + answer, null, { addSpecialTokens: true });
    const ids = enc.getIds();
    const offsets = enc.getOffsets();
    const special = enc.getSpecialTokensMask();
    const boundary = [...context].length; // offsets count characters (code points)
    const instructionIds: number[] = [];
    const answerIds: number[] = [];
    let keepFirst = 0;
    ids.forEach((id, i) => {
      const [start, end] = offsets[i]!;
      if (special[i] === 1 && start === end) {
        // added by the post-processor: before the text (nothing placed yet) or after it
        if (instructionIds.length === keepFirst && answerIds.length === 0) {
          instructionIds.push(id);
          keepFirst++;
        }
      } else if (end > boundary) answerIds.push(id);
      else instructionIds.push(id);
    });
    return { instructionIds, answerIds, keepFirst };
  }

  /** Text of `ids`; special tokens dropped when `skipSpecialTokens`. */
  decode(ids: number[], skipSpecialTokens = false): Promise<string> {
    return this.inner.decode(ids, skipSpecialTokens);
  }

  /** Vocabulary size including added tokens. */
  get vocabSize(): number {
    return this.inner.getVocabSize(true);
  }

  tokenToId(token: string): number | undefined {
    return this.inner.tokenToId(token) ?? undefined;
  }
}

/**
 * The tokenizers library's (serde's) load error reduced to where and what was expected: the rest
 * may quote the file (`invalid type: string "..."`), and the file need not be the caller's to read.
 */
function unquotedLoadError(message: string): string {
  const at = /at line (\d+) column (\d+)/.exec(message);
  const where = at ? ` at line ${at[1]}, column ${at[2]}` : "";
  const expected = /\bexpected (.*?)(?: at line \d+ column \d+)?$/.exec(message);
  return expected ? `not a tokenizer the tokenizers library can load${where}: expected ${expected[1]}` : `not a tokenizer the tokenizers library can load${where}`;
}
