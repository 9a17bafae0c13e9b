/**
 * The demo model's word-level tokenizer, as a Hugging Face `tokenizer.json`, and a fast JS
 * encoder that gives the same ids for corpus text (tested against the `tokenizers` package).
 *
 * Pipeline: Lowercase -> Metaspace (a space before each word becomes "▁", words split at spaces)
 * -> Digits (every digit its own token) -> WordLevel lookup; the Metaspace decoder undoes it, so
 * decode(encode("12 * 7 = 84")) is the same text. A number is "▁" then one token per digit, so
 * "the last digit" is always a token, and the same digit is the same token in every position.
 */
import { corpusWords } from "./vocab.js";

export const SPACE = "\u2581"; // "▁"
export const SPECIAL_TOKENS = { pad: "<pad>", unk: "<unk>", eos: "<eos>" } as const;
export const PAD_ID = 0;
export const UNK_ID = 1;
export const EOS_ID = 2;
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** Token strings in id order: specials, "▁", digits, then "▁word" per corpus word. */
export function vocabTokens(words: readonly string[] = corpusWords()): string[] {
  return [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk, SPECIAL_TOKENS.eos, SPACE, ...DIGITS, ...words.map((w) => SPACE + w)];
}

/** The tokenizer.json object (write it with JSON.stringify). */
export function tokenizerJson(tokens: readonly string[] = vocabTokens()): object {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  const metaspace = { type: "Metaspace", replacement: SPACE, prepend_scheme: "always", split: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [PAD_ID, UNK_ID, EOS_ID].map((id) => ({
      id, content: tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [metaspace, { type: "Digits", individual_digits: true }] },
    post_processor: null,
    decoder: metaspace,
    model: { type: "WordLevel", vocab, unk_token: SPECIAL_TOKENS.unk },
  };
}

/** Encodes space-separated text exactly as tokenizer.json does (no special tokens inside the text). */
export class WordCodec {
  private readonly ids = new Map<string, number>();

  constructor(readonly tokens: readonly string[] = vocabTokens()) {
    tokens.forEach((t, i) => this.ids.set(t, i));
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /** Token ids of `text`; unknown words become `<unk>`. */
  encode(text: string): number[] {
    const out: number[] = [];
    if (text.length === 0) return out;
    // Metaspace: spaces become "▁", one is prepended unless the text starts with one, and each
    // "▁" starts a new piece; so a leading space is absorbed and "a  b" has an empty word.
    const body = text.startsWith(" ") ? text.slice(1) : text;
    for (const word of body.toLowerCase().split(" ")) {
      // Digits pre-tokenizer: every digit is isolated, the non-digit runs between stay whole.
      for (const piece of (SPACE + word).split(/(\d)/)) {
        if (piece !== "") out.push(this.ids.get(piece) ?? UNK_ID);
      }
    }
    return out;
  }

  /** Text of `ids` (Metaspace decoding: "▁" becomes a space, the leading one dropped). */
  decode(ids: readonly number[]): string {
    return ids.map((id) => this.tokens[id] ?? SPECIAL_TOKENS.unk).join("").replaceAll(SPACE, " ").replace(/^ /, "");
  }
}
