/** What the runner reports for one validation sample. */
export interface SampleOutput {
  /** Mean cross-entropy over the answer tokens. */
  readonly loss: number;
  /** Probability of the whole gold answer (product over its tokens). */
  readonly goldProb: number;
  /** Max token probability at the first answer position (nearly 1 when that is a lone word-boundary token). */
  readonly confidence: number;
  /**
   * At the first answer token that carries content (its text is not only whitespace or a word-boundary
   * piece): its index in the answer (-1: none does), the gold token's cross-entropy and the max token
   * probability there (NaN: none does). Undefined for outputs of runners that predate them.
   */
  readonly contentToken?: number;
  readonly contentLoss?: number;
  readonly contentConfidence?: number;
  /** Predicted answer text. */
  readonly prediction: string;
  readonly correct: boolean;
  /** Number of gold-answer tokens, when the runner reports it. */
  readonly answerTokens?: number;
}

/**
 * builtin: from labels, answers and runner outputs; heuristic: detectors over input fields;
 * column: the task file's own numeric/boolean columns; added: given after the run.
 */
export type MetricKind = "builtin" | "heuristic" | "column" | "added";

export interface MetricInfo {
  readonly name: string;
  readonly kind: MetricKind;
  readonly description: string;
  /** True when the values come from runner outputs (unavailable before extraction). */
  readonly needsOutputs: boolean;
}

/** A metric that cannot be computed or added; the message says why and what to do. */
export class MetricError extends Error {
  override readonly name = "MetricError";
  constructor(readonly metric: string | undefined, detail: string) {
    super(detail);
  }
}
