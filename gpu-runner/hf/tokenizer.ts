import { existsSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "tokenizers";
import { CheckpointError } from "./errors.js";

/** Text <-> token ids through a model folder's tokenizer.json (Hugging Face `tokenizers`). */
export class TextTokenizer {
  private constructor(private readonly inner: Tokenizer, readonly file: string) {}

  /** Loads `<dir>/tokenizer.json`; throws CheckpointError when it is missing or unreadable. */
  static fromDir(dir: string): TextTokenizer {
    const file = join(dir, "tokenizer.json");
    if (!existsSync(file)) {
      throw new CheckpointError(`tokenizer.json: not found in ${dir}; download it with the model`, "tokenizer.json");
    }
    try {
      return new TextTokenizer(Tokenizer.fromFile(file), file);
    } catch (e) {
      throw new CheckpointError(`tokenizer.json: cannot be loaded (${(e as Error).message})`, "tokenizer.json");
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
