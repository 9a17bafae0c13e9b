/**
 * Per-sample answer scores. Two steps: per answer token (log p of the gold token, the top token's
 * log p, the top token) — computed in the model graph (OnnxPromptModel: f32 log-softmax over the
 * vocabulary) or from logits here in float64 (`tokenScoresFromLogits`, the reference) — then per
 * sample (`scoreAnswers`).
 */
import type { EncodedBatch } from "./layout.js";

/** Per answer token, [B, A] each (row r, answer position j at r*A+j); entries past a row's answer length are ignored. */
export interface AnswerTokenScores {
  /** log p(gold token). */
  readonly logProb: Float32Array | Float64Array;
  /** Max over the vocabulary of log p (log of the top token's probability). */
  readonly maxLogProb: Float32Array | Float64Array;
  /** Top token under teacher forcing (first index on ties). */
  readonly argmax: Int32Array;
}

export interface AnswerScores {
  /** [B] mean cross-entropy over the row's answer tokens. */
  readonly loss: Float64Array;
  /** [B] sum over answer tokens of log p(gold token) (log of the gold answer's probability). */
  readonly goldLogProb: Float64Array;
  /** [B] max token probability at the first answer position (a lone word-boundary token there is nearly certain). */
  readonly confidence: Float64Array;
  /** [B] cross-entropy of the gold token at answer token contentToken[r]; NaN where that index is -1. */
  readonly contentLoss: Float64Array;
  /** [B] max token probability at answer token contentToken[r]; NaN where that index is -1. */
  readonly contentConfidence: Float64Array;
  /** [B,A] argmax token at each answer position under teacher forcing, -1 past the answer. */
  readonly argmax: Int32Array;
  /** [B] 1 when every teacher-forced argmax equals the gold token (= greedy decoding reproduces the answer). */
  readonly correct: Uint8Array;
  /** Sum of token cross-entropies over the batch. */
  readonly nllSum: number;
}

/** Float64 log-softmax of answerLogits [B, A, V] (as read from a model's answer positions) at the batch's gold tokens. */
export function tokenScoresFromLogits(batch: EncodedBatch, answerLogits: Float32Array | Float64Array, vocabSize: number): AnswerTokenScores {
  const B = batch.size;
  const A = batch.maxAnswerLength;
  const V = vocabSize;
  if (answerLogits.length !== B * A * V) {
    throw new RangeError(`answerLogits has ${answerLogits.length} values; expected B*A*V = ${B}*${A}*${V}`);
  }
  const logProb = new Float64Array(B * A);
  const maxLogProb = new Float64Array(B * A);
  const argmax = new Int32Array(B * A).fill(-1);
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < batch.answerLength[r]; j++) {
      const off = (r * A + j) * V;
      let max = -Infinity;
      let arg = 0;
      for (let k = 0; k < V; k++) {
        const x = answerLogits[off + k];
        if (x > max) {
          max = x;
          arg = k;
        }
      }
      let sum = 0;
      for (let k = 0; k < V; k++) sum += Math.exp(answerLogits[off + k] - max);
      const logZ = max + Math.log(sum);
      logProb[r * A + j] = answerLogits[off + batch.answerIds[r * A + j]] - logZ;
      maxLogProb[r * A + j] = max - logZ;
      argmax[r * A + j] = arg;
    }
  }
  return { logProb, maxLogProb, argmax };
}

/**
 * Per-sample scores from per-token scores ([B, A] as AnswerTokenScores). contentToken: [B] the answer
 * token (index into the row's answer) the content scores read, -1 for none (see
 * extract/content-token.ts); absent: every row -1.
 */
export function scoreAnswers(batch: EncodedBatch, tokens: AnswerTokenScores, contentToken?: Int32Array): AnswerScores {
  const B = batch.size;
  const A = batch.maxAnswerLength;
  for (const [name, a] of Object.entries(tokens)) {
    if ((a as ArrayLike<number>).length !== B * A) throw new RangeError(`token scores: ${name} has ${(a as ArrayLike<number>).length} values; expected B*A = ${B}*${A}`);
  }
  const loss = new Float64Array(B);
  const goldLogProb = new Float64Array(B);
  const confidence = new Float64Array(B);
  const contentLoss = new Float64Array(B).fill(Number.NaN);
  const contentConfidence = new Float64Array(B).fill(Number.NaN);
  if (contentToken !== undefined && contentToken.length !== B) throw new RangeError(`contentToken has ${contentToken.length} values for ${B} rows`);
  const argmax = new Int32Array(B * A).fill(-1);
  const correct = new Uint8Array(B);
  let nllSum = 0;
  for (let r = 0; r < B; r++) {
    const len = batch.answerLength[r];
    let lp = 0;
    let allMatch = 1;
    for (let j = 0; j < len; j++) {
      const q = r * A + j;
      lp += tokens.logProb[q];
      argmax[q] = tokens.argmax[q];
      if (tokens.argmax[q] !== batch.answerIds[q]) allMatch = 0;
    }
    if (len > 0) confidence[r] = Math.exp(tokens.maxLogProb[r * A]);
    const content = contentToken?.[r] ?? -1;
    if (content >= len) throw new RangeError(`contentToken[${r}] = ${content} is past the row's ${len} answer tokens`);
    if (content >= 0) {
      contentLoss[r] = -tokens.logProb[r * A + content];
      contentConfidence[r] = Math.exp(tokens.maxLogProb[r * A + content]);
    }
    goldLogProb[r] = lp;
    loss[r] = -lp / len;
    correct[r] = allMatch;
    nllSum -= lp;
  }
  return { loss, goldLogProb, confidence, contentLoss, contentConfidence, argmax, correct, nllSum };
}
