/**
 * What training and extraction need from a frozen model with a soft prompt inserted.
 * The prompt is always a Float32Array [n, dModel] row-major; batches come from layout.ts.
 */
import type { EncodedBatch, EncodedSample } from "./layout.js";
import type { AnswerTokenScores } from "./scoring.js";

/** Which FFN neurons to tap: layers (ascending, 0-based) at soft positions or at every position. */
export interface TapSpec {
  readonly layers: readonly number[];
  readonly positions: "soft" | "all";
}

export interface EvalOutput {
  /** [B, A] scores of the gold answer tokens at batch.answerTargetPositions under teacher forcing. */
  readonly answers: AnswerTokenScores;
  /**
   * Per tapped layer (same order as TapSpec.layers): FFN neuron activations (input of the down
   * projection), [B, P, dFF] with P = n for "soft" (row r, slot i = position softPositions[r,i])
   * or P = T for "all" (padding positions unspecified). The caller owns these arrays: extraction
   * zeroes padding in them and transfers their buffers to another thread.
   */
  readonly taps: readonly Float32Array[];
}

export interface LossAndGrad {
  /** Mean cross-entropy over the batch's answer tokens. */
  readonly loss: number;
  /** d(loss)/d(prompt), [n, dModel]. */
  readonly grad: Float32Array;
  /** Answer tokens the mean is over (batch.answerTokens). */
  readonly tokens: number;
}

export interface PromptModel {
  readonly dModel: number;
  readonly nLayers: number;
  readonly dFF: number;
  readonly vocabSize: number;
  /** Longest sequence (soft positions included) the model accepts; undefined = no limit. */
  readonly maxPositions?: number;
  /** What a tapped neuron is, recorded with the run (e.g. "gelu(c_fc(x))", "silu(gate(x))*up(x)"). */
  readonly neuronDefinition: string;
  lossAndGrad(batch: EncodedBatch, prompt: Float32Array): Promise<LossAndGrad>;
  /** Forward for scoring and extraction; taps null computes no activations. */
  evaluate(batch: EncodedBatch, prompt: Float32Array, taps: TapSpec | null): Promise<EvalOutput>;
  /** Rows of the input embedding matrix, [ids.length, dModel] (prompt init from the vocabulary). */
  embeddingRows(ids: ArrayLike<number>): Promise<Float32Array>;
  /** Frees what only lossAndGrad uses (gradient sessions); a later lossAndGrad prepares it again.
   * Called once training ends so that extraction does not run beside it. */
  releaseTraining(): Promise<void>;
  /** Frees sessions / buffers. */
  dispose(): Promise<void>;
}

/** Text <-> ids for a model. */
export interface TextCodec {
  readonly padId: number;
  /** One example: instruction ids with the model's special tokens (kept under truncation: keepFirst),
   * answer ids as the answer's text continues the instruction's. */
  encodePair(instruction: string, answer: string): Promise<EncodedSample>;
  /** Ids of a bare text, no special tokens (e.g. a prompt init text). */
  encodeAnswer(text: string): Promise<number[]>;
  decode(ids: readonly number[]): Promise<string>;
}
