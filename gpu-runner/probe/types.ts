/**
 * A probe: forward user-given rows with a trained prompt and read chosen FFN neurons at the soft
 * positions, with the model's answer outputs. The same forward as extraction (extract/extract.ts),
 * so a validation row probed alone reads what extraction stored for it.
 */
import type { NeuronRef } from "../causal/types.js";

export interface ProbeSpec {
  /** The neurons to read; distinct, inside the model. */
  readonly neurons: readonly NeuronRef[];
  /** Rows per forward (default 16). */
  readonly batchSize?: number;
}

export interface ProbeOutcome {
  /** [rows] in the order given. */
  readonly sampleIds: readonly string[];
  readonly loss: Float64Array;
  readonly goldProb: Float64Array;
  /** Top token probability at the first answer position. */
  readonly confidence: Float64Array;
  /** Cross-entropy and top probability at the first answer token that carries content (NaN where none does). */
  readonly contentLoss: Float64Array;
  readonly contentConfidence: Float64Array;
  readonly prediction: readonly string[];
  readonly correct: Uint8Array;
  /** Soft positions per row (the prompt length). */
  readonly nPositions: number;
  /** [rows, neurons, nPositions]: neuron k of `spec.neurons` at soft position p. */
  readonly activations: Float32Array;
}
