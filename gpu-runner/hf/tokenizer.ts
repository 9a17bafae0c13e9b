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
