/** Per-sample answer scores from answer-position logits (float64 log-softmax). */
import type { EncodedBatch } from "./layout.js";

export interface AnswerScores {
  /** [B] mean cross-entropy over the row's answer tokens. */
  readonly loss: Float64Array;
  /** [B] sum over answer tokens of log p(gold token) (log of the gold answer's probability). */
  readonly goldLogProb: Float64Array;
  /** [B] max token probability at the first answer position. */
  readonly confidence: Float64Array;
  /** [B,A] argmax token at each answer position under teacher forcing, -1 past the answer. */
  readonly argmax: Int32Array;
  /** [B] 1 when every teacher-forced argmax equals the gold token (= greedy decoding reproduces the answer). */
  readonly correct: Uint8Array;
  /** Sum of token cross-entropies over the batch. */
  readonly nllSum: number;
}

/** answerLogits: [B, A, V] as EvalOutput.answerLogits. */
export function scoreAnswers(batch: EncodedBatch, answerLogits: Float32Array, vocabSize: number): AnswerScores {
  const B = batch.size;
  const A = batch.maxAnswerLength;
  const V = vocabSize;
  if (answerLogits.length !== B * A * V) {
    throw new RangeError(`answerLogits has ${answerLogits.length} values; expected B*A*V = ${B}*${A}*${V}`);
  }
  const loss = new Float64Array(B);
  const goldLogProb = new Float64Array(B);
  const confidence = new Float64Array(B);
  const argmax = new Int32Array(B * A).fill(-1);
  const correct = new Uint8Array(B);
  let nllSum = 0;
  for (let r = 0; r < B; r++) {
    const len = batch.answerLength[r];
    let lp = 0;
    let allMatch = 1;
    for (let j = 0; j < len; j++) {
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
      const gold = batch.answerIds[r * A + j];
      lp += answerLogits[off + gold] - logZ;
      argmax[r * A + j] = arg;
      if (arg !== gold) allMatch = 0;
      if (j === 0) confidence[r] = 1 / sum; // exp(max - logZ)
    }
    goldLogProb[r] = lp;
    loss[r] = -lp / len;
    correct[r] = allMatch;
    nllSum -= lp;
  }
  return { loss, goldLogProb, confidence, argmax, correct, nllSum };
}
