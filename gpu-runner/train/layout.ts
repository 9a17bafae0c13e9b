/**
 * Sequence layout for prompt tuning:
 *   "after" (default): [instruction] [p1..pn] [answer]   -- soft positions see the input (causal attention)
 *   "prefix":          [p1..pn] [instruction] [answer]   -- classic prompt tuning
 * Rows are right-padded. Answer token j is predicted from the position just before it, so with
 * "after" placement the first answer token is predicted from the LAST soft position.
 */
import { badInput } from "./errors.js";

export type PromptPlacement = "after" | "prefix";

/** One tokenized sample: instruction ids (with any special tokens the model wants) and answer ids. */
export interface EncodedSample {
  readonly instructionIds: ArrayLike<number>;
  readonly answerIds: ArrayLike<number>;
  /** Leading instruction ids that left truncation keeps (the tokenizer's BOS and other leading special tokens); default 0. */
  readonly keepFirst?: number;
}

export interface LayoutOptions {
  /** n, the number of soft-prompt vectors (default 20). */
  readonly promptLength: number;
  readonly placement: PromptPlacement;
  /** Token id written at soft and padding positions (they are masked or replaced by the model). */
  readonly padId: number;
  /** Longest allowed row; longer rows are an error, or lose instruction tokens from the left (after the
   * sample's keepFirst tokens, so BOS stays first) with truncate "left". */
  readonly maxLength?: number;
  readonly truncate?: "error" | "left";
}

export const DEFAULT_LAYOUT: LayoutOptions = { promptLength: 20, placement: "after", padId: 0, truncate: "error" };

/** Batch tensors, row-major. B rows, T = longest row, n soft positions, A = longest answer. */
export interface EncodedBatch {
  readonly size: number; // B
  readonly seqLen: number; // T
  readonly promptLength: number; // n
  readonly maxAnswerLength: number; // A
  /** [B,T] token ids; soft and padding positions hold padId. */
  readonly inputIds: Int32Array;
  /** [B,T] 1 on instruction, soft and answer positions; 0 on padding. */
  readonly attentionMask: Uint8Array;
  /** [B,T] i at the i-th soft position, -1 elsewhere (lets a graph gather the prompt rows). */
  readonly softIndex: Int32Array;
  /** [B] K: position of the first soft vector. */
  readonly insertAt: Int32Array;
  /** [B,n] absolute positions of the soft vectors (K + i). */
  readonly softPositions: Int32Array;
  /** [B] number of non-padding positions. */
  readonly lengths: Int32Array;
  /** [B,T] the answer token predicted at position t (next-token target), -1 where there is none. */
  readonly targetIds: Int32Array;
  /** [B,T] 1 where targetIds holds an answer token. */
  readonly targetMask: Uint8Array;
  /** [B] position of the first answer token. */
  readonly answerStart: Int32Array;
  /** [B] number of answer tokens. */
  readonly answerLength: Int32Array;
  /** [B,A] gold answer ids, -1 past the row's answer length. */
  readonly answerIds: Int32Array;
  /** [B,A] position whose logits predict answer token j (answerStart + j - 1), -1 past the answer. */
  readonly answerTargetPositions: Int32Array;
  /** [B] index of each row in the sample list given to buildBatch. */
  readonly sampleIdx: Int32Array;
  /** Sum of answer lengths (the tokens the loss averages over). */
  readonly answerTokens: number;
  /** Sum of row lengths (non-padding tokens including soft positions). */
  readonly totalTokens: number;
  /** How many instruction tokens truncation dropped over the batch. */
  readonly truncatedTokens: number;
}

export function resolveLayout(options: Partial<LayoutOptions> = {}): LayoutOptions {
  const o = { ...DEFAULT_LAYOUT, ...options };
  if (!Number.isInteger(o.promptLength) || o.promptLength < 1) {
    throw badInput(`layout.promptLength must be a positive integer, got ${String(o.promptLength)}`);
  }
  if (o.placement !== "after" && o.placement !== "prefix") {
    throw badInput(`layout.placement must be "after" or "prefix", got ${String(o.placement)}`);
  }
  if (!Number.isInteger(o.padId) || o.padId < 0) throw badInput(`layout.padId must be a non-negative integer, got ${String(o.padId)}`);
  if (o.maxLength !== undefined && (!Number.isInteger(o.maxLength) || o.maxLength < o.promptLength + 1)) {
    throw badInput(`layout.maxLength must be an integer >= promptLength + 1, got ${String(o.maxLength)}`);
  }
  if (o.truncate !== undefined && o.truncate !== "error" && o.truncate !== "left") {
    throw badInput(`layout.truncate must be "error" or "left", got ${String(o.truncate)}`);
  }
  return o;
}

/**
 * Lay out samples[indices[r]] as row r. Throws a BAD_INPUT RunnerError naming the sample when an
 * answer is empty, an id is not a non-negative integer, or a row exceeds maxLength with truncate "error".
 */
export function buildBatch(samples: readonly EncodedSample[], indices: ArrayLike<number>, options: LayoutOptions): EncodedBatch {
  const n = options.promptLength;
  const B = indices.length;
  if (B === 0) throw badInput("buildBatch: empty batch");
  const instrLen = new Int32Array(B);
  const dropped = new Int32Array(B);
  let T = 0;
  let A = 0;
  for (let r = 0; r < B; r++) {
    const idx = indices[r];
    const s = samples[idx];
    if (!s) throw badInput(`buildBatch: sample index ${idx} is out of range (${samples.length} samples)`);
    checkIds(s.instructionIds, idx, "instructionIds");
    checkIds(s.answerIds, idx, "answerIds");
    const ans = s.answerIds.length;
    if (ans === 0) throw badInput(`sample ${idx}: answer has no tokens; every row needs a non-empty answer`);
    let instr = s.instructionIds.length;
    const len = instr + n + ans;
    if (options.maxLength !== undefined && len > options.maxLength) {
      const excess = len - options.maxLength;
      if (options.truncate !== "left" || excess > instr - keptFirst(s)) {
        throw badInput(
          `sample ${idx}: ${len} tokens (instruction ${instr} + prompt ${n} + answer ${ans}) exceed layout.maxLength ${options.maxLength}; ` +
            `shorten the row, raise maxLength, or set truncate "left"`,
        );
      }
      dropped[r] = excess;
      instr -= excess;
    }
    instrLen[r] = instr;
    T = Math.max(T, instr + n + ans);
    A = Math.max(A, ans);
  }

  const inputIds = new Int32Array(B * T).fill(options.padId);
  const attentionMask = new Uint8Array(B * T);
  const softIndex = new Int32Array(B * T).fill(-1);
  const insertAt = new Int32Array(B);
  const softPositions = new Int32Array(B * n);
  const lengths = new Int32Array(B);
  const targetIds = new Int32Array(B * T).fill(-1);
  const targetMask = new Uint8Array(B * T);
  const answerStart = new Int32Array(B);
  const answerLength = new Int32Array(B);
  const answerIds = new Int32Array(B * A).fill(-1);
  const answerTargetPositions = new Int32Array(B * A).fill(-1);
  const sampleIdx = new Int32Array(B);
  let answerTokens = 0;
  let totalTokens = 0;
  let truncatedTokens = 0;

  for (let r = 0; r < B; r++) {
    const s = samples[indices[r]];
    const instr = instrLen[r];
    const skip = dropped[r];
    const keep = skip > 0 ? keptFirst(s) : 0;
    const ans = s.answerIds.length;
    const row = r * T;
    const K = options.placement === "after" ? instr : 0;
    const instrStart = options.placement === "after" ? 0 : n;
    // The first `keep` ids stay; truncation drops the `skip` ids after them.
    for (let i = 0; i < instr; i++) inputIds[row + instrStart + i] = s.instructionIds[i < keep ? i : skip + i];
    for (let i = 0; i < n; i++) {
      softIndex[row + K + i] = i;
      softPositions[r * n + i] = K + i;
    }
    const aStart = instr + n;
    for (let j = 0; j < ans; j++) {
      const id = s.answerIds[j];
      inputIds[row + aStart + j] = id;
      targetIds[row + aStart + j - 1] = id;
      targetMask[row + aStart + j - 1] = 1;
      answerIds[r * A + j] = id;
      answerTargetPositions[r * A + j] = aStart + j - 1;
    }
    const len = aStart + ans;
    attentionMask.fill(1, row, row + len);
    insertAt[r] = K;
    lengths[r] = len;
    answerStart[r] = aStart;
    answerLength[r] = ans;
    sampleIdx[r] = indices[r];
    answerTokens += ans;
    totalTokens += len;
    truncatedTokens += skip;
  }
  return {
    size: B, seqLen: T, promptLength: n, maxAnswerLength: A,
    inputIds, attentionMask, softIndex, insertAt, softPositions, lengths, targetIds, targetMask,
    answerStart, answerLength, answerIds, answerTargetPositions, sampleIdx, answerTokens, totalTokens, truncatedTokens,
  };
}

function keptFirst(s: EncodedSample): number {
  const k = s.keepFirst ?? 0;
  if (!Number.isInteger(k) || k < 0 || k > s.instructionIds.length) throw badInput(`keepFirst ${String(k)} must be an integer in 0..${s.instructionIds.length}`);
  return k;
}

function checkIds(ids: ArrayLike<number>, idx: number, field: string): void {
  if (!ids || typeof ids.length !== "number") throw badInput(`sample ${idx}: ${field} must be an array of token ids`);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (!Number.isInteger(v) || v < 0) throw badInput(`sample ${idx}: ${field}[${i}] = ${String(v)} is not a non-negative integer token id`);
  }
}
