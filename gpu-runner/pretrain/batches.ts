/**
 * Pretraining batches: corpus documents packed into rows of T+1 tokens, `doc <eos> doc <eos> ...`,
 * whole documents only (every row starts a document at position 0, as a prompt-tuning sequence
 * does), right-padded. Input is tokens[0..T-1], target tokens[1..T]; padded targets are masked,
 * answer tokens weigh ANSWER_WEIGHT times more than the rest (the loss is the weighted mean).
 */
import { Rng } from "../train/rng.js";
import { corpusDoc, DEFAULT_CORPUS, docText, type CorpusOptions } from "./corpus.js";
import { EOS_ID, PAD_ID, type WordCodec } from "./tokenizer.js";

export interface TokenBatch {
  readonly batch: number;
  readonly seqLen: number;
  /** [B,T] */
  readonly inputIds: BigInt64Array;
  /** [B,T] next token at each position (PAD where masked). */
  readonly targets: BigInt64Array;
  /** [B,T] loss weight of each target: 0 on padding, ANSWER_WEIGHT on answer tokens, else 1. */
  readonly lossMask: Float32Array;
  /** Number of targets that count. */
  readonly tokens: number;
}

/** Loss weight of answer tokens: they are a tenth of the corpus but all of its skills. */
export const ANSWER_WEIGHT = 5;

/** An encoded document: ids (ending in `<eos>`) and the loss weight of predicting each id. */
export interface EncodedDoc {
  readonly ids: number[];
  readonly weights: number[];
}

/** An endless, seeded stream of encoded documents, each followed by `<eos>`. */
export class DocStream {
  private readonly rng: Rng;
  private pending: EncodedDoc | undefined;

  constructor(seed: number, private readonly codec: WordCodec, private readonly options: CorpusOptions = DEFAULT_CORPUS) {
    this.rng = Rng.fromSeed(seed);
  }

  /** The next document (with its trailing `<eos>`), or the one `putBack` returned. */
  next(): EncodedDoc {
    if (this.pending) {
      const d = this.pending;
      this.pending = undefined;
      return d;
    }
    const doc = corpusDoc(this.rng, this.options);
    const ids = [...this.codec.encode(docText(doc)), EOS_ID];
    const answerStart = ids.length - 1 - this.codec.encode(doc.answer).length;
    return { ids, weights: ids.map((_, i) => (i >= answerStart && i < ids.length - 1 ? ANSWER_WEIGHT : 1)) };
  }

  putBack(doc: EncodedDoc): void {
    this.pending = doc;
  }
}

/** The next batch of B packed rows of T positions from `stream`. */
export function nextBatch(stream: DocStream, batch: number, seqLen: number): TokenBatch {
  const inputIds = new BigInt64Array(batch * seqLen).fill(BigInt(PAD_ID));
  const targets = new BigInt64Array(batch * seqLen).fill(BigInt(PAD_ID));
  const lossMask = new Float32Array(batch * seqLen);
  let tokens = 0;
  for (let b = 0; b < batch; b++) {
    const row: number[] = [];
    const weights: number[] = [];
    for (;;) {
      const doc = stream.next();
      if (doc.ids.length > seqLen + 1) throw new RangeError(`a corpus document has ${doc.ids.length} tokens, more than seqLen + 1 = ${seqLen + 1}`);
      if (row.length + doc.ids.length > seqLen + 1) {
        stream.putBack(doc);
        break;
      }
      row.push(...doc.ids);
      weights.push(...doc.weights);
    }
    for (let t = 0; t < row.length - 1; t++) {
      inputIds[b * seqLen + t] = BigInt(row[t]);
      targets[b * seqLen + t] = BigInt(row[t + 1]);
      lossMask[b * seqLen + t] = weights[t + 1];
    }
    if (row.length > 0) inputIds[b * seqLen + row.length - 1] = BigInt(row[row.length - 1]);
    tokens += Math.max(0, row.length - 1);
  }
  return { batch, seqLen, inputIds, targets, lossMask, tokens };
}
