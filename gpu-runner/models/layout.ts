/**
 * Batch layout in JS: turns token sequences (+ where each one's soft prompt goes) into the
 * flat feeds the model graphs take. Sequences are right-padded to the longest; position ids count
 * real positions only (0..len-1), so a sequence's results do not depend on its batch mates.
 *
 * Full sequence b = ids[:K_b] ++ soft prompt (n vectors) ++ ids[K_b:], length len_b = |ids| + n.
 */

/** One sequence of a batch. `insertAt` (K) is required when the session has a soft prompt. */
export interface SequenceInput {
  ids: readonly number[];
  /** Soft prompt goes after the first `insertAt` tokens (0 = prefix, ids.length = suffix). */
  insertAt?: number;
  /** Loss targets: the last `lossLast` tokens, each predicted from the position before it. */
  lossLast?: number;
}

export interface BatchLayout {
  batch: number;
  /** Padded length T. */
  seqLen: number;
  /** Full (real) length of each sequence, soft positions included. */
  lengths: number[];
  /** First soft position of each sequence (= K_b), or -1 without a soft prompt. */
  softStart: number[];
  /** [B, T] token ids; soft and padding slots hold 0 (their embedding is masked out). */
  inputIds: BigInt64Array;
  /** [B, T] position ids (padding continues counting; its results are discarded). */
  positionIds: BigInt64Array;
  /** [B, T] 1 where the slot holds a token, 0 at soft and padding slots. */
  tokenMask: Float32Array;
  /** [B, T, n] one-hot of the soft vector at each slot (all zero elsewhere); absent when n = 0. */
  softOneHot: Float32Array | undefined;
  /** [B, 1, T, T] additive attention bias: 0 where query i may see key j (causal, inside the window, key real), else -1e9. */
  attnBias: Float32Array;
  /** [M] flat indices b*T+t of the positions whose outputs predict a loss target, sequence-major. */
  lossPos: BigInt64Array;
  /** [M] the target token ids. */
  lossTargets: BigInt64Array;
  /** Number of loss targets per sequence. */
  lossCounts: number[];
  /** [B*n] flat indices of soft positions, sequence-major then soft index. */
  softPos: BigInt64Array;
  /** [B] flat index of each sequence's last real position. */
  lastPos: BigInt64Array;
}

/** Validation error for batch input: names the sequence and the field. */
export class BatchInputError extends Error {
  override readonly name = "BatchInputError";
}

/** Masked-out attention logit; finite so that softmax never sees a row of -inf. */
export const MASKED = -1e9;

/** `window` W: query i sees only keys j with i - j < W (a sliding window); absent: every j <= i. */
export function layoutBatch(
  seqs: readonly SequenceInput[], softLength: number, vocabSize: number, maxPositions: number, window = Infinity,
): BatchLayout {
  if (seqs.length === 0) throw new BatchInputError("batch is empty: pass at least one sequence");
  const B = seqs.length;
  const n = softLength;
  const lengths = seqs.map((s) => s.ids.length + n);
  const T = Math.max(...lengths);
  seqs.forEach((s, b) => {
    if (s.ids.length + n === 0) throw new BatchInputError(`sequence ${b}: empty`);
    if (lengths[b]! > maxPositions) {
      throw new BatchInputError(`sequence ${b}: ${lengths[b]} positions exceed the model's ${maxPositions}; shorten the input`);
    }
    s.ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new BatchInputError(`sequence ${b}: token id ${id} at index ${i} is outside the vocabulary [0, ${vocabSize})`);
      }
    });
    if (n > 0) {
      const k = s.insertAt;
      if (k === undefined || !Number.isInteger(k) || k < 0 || k > s.ids.length) {
        throw new BatchInputError(`sequence ${b}: insertAt ${k} must be an integer in [0, ${s.ids.length}] (where the soft prompt goes)`);
      }
    }
    const last = s.lossLast ?? 0;
    const maxLast = n > 0 ? Math.min(s.ids.length - s.insertAt!, lengths[b]! - 1) : s.ids.length - 1;
    if (!Number.isInteger(last) || last < 0 || last > maxLast) {
      throw new BatchInputError(`sequence ${b}: lossLast ${last} must be an integer in [0, ${maxLast}] (tokens after the soft prompt, each needing a position before it)`);
    }
  });
  const inputIds = new BigInt64Array(B * T);
  const positionIds = new BigInt64Array(B * T);
  const tokenMask = new Float32Array(B * T);
  const softOneHot = n > 0 ? new Float32Array(B * T * n) : undefined;
  const attnBias = new Float32Array(B * T * T).fill(MASKED);
  const lossPos: bigint[] = [];
  const lossTargets: bigint[] = [];
  const softPos = new BigInt64Array(B * n);
  const lastPos = new BigInt64Array(B);
  const softStart: number[] = [];
  seqs.forEach((s, b) => {
    const k = n > 0 ? s.insertAt! : s.ids.length;
    softStart.push(n > 0 ? k : -1);
    const full: number[] = []; // token id per real position, -1 for soft
    for (let i = 0; i < k; i++) full.push(s.ids[i]!);
    for (let j = 0; j < n; j++) full.push(-1);
    for (let i = k; i < s.ids.length; i++) full.push(s.ids[i]!);
    for (let t = 0; t < T; t++) {
      const o = b * T + t;
      positionIds[o] = BigInt(t);
      if (t < full.length && full[t]! >= 0) {
        inputIds[o] = BigInt(full[t]!);
        tokenMask[o] = 1;
      }
      for (let j = Math.max(0, t - window + 1); j <= t; j++) {
        if (j < full.length || j === t) attnBias[(b * T + t) * T + j] = 0;
      }
    }
    for (let j = 0; j < n; j++) {
      softOneHot![(b * T + k + j) * n + j] = 1;
      softPos[b * n + j] = BigInt(b * T + k + j);
    }
    const len = full.length;
    lastPos[b] = BigInt(b * T + len - 1);
    const last = s.lossLast ?? 0;
    for (let p = len - last; p < len; p++) {
      lossPos.push(BigInt(b * T + p - 1));
      lossTargets.push(BigInt(full[p]!));
    }
  });
  return {
    batch: B, seqLen: T, lengths, softStart, inputIds, positionIds, tokenMask, softOneHot, attnBias,
    lossPos: BigInt64Array.from(lossPos), lossTargets: BigInt64Array.from(lossTargets),
    lossCounts: seqs.map((s) => s.lossLast ?? 0), softPos, lastPos,
  };
}
