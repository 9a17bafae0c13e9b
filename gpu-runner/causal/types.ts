/**
 * Causal experiments on FFN neurons: what to run (ablation of a neuron set against random neuron
 * sets of the same layers, or steering one neuron by factors) and what comes back.
 */

/** One FFN neuron: `L{layer}.N{neuron}`. */
export interface NeuronRef {
  readonly layer: number;
  readonly neuron: number;
}

/**
 * zero: a -> 0. mean: a -> the neuron's mean over S_val (at the intervened positions).
 * noise: a -> mean + sd * z, z ~ N(0, 1) drawn per (sample, neuron): matched mean and variance, no signal.
 */
export type AblationMode = "zero" | "mean" | "noise";

/** Where the intervention applies: the soft-prompt positions only, or every position. */
export type InterventionPositions = "soft" | "all";

export interface AblationSpec {
  readonly kind: "ablation";
  /** The neurons to ablate (e.g. the top-K by |r|); distinct. */
  readonly neurons: readonly NeuronRef[];
  readonly mode: AblationMode;
  /** Random control sets: each has as many neurons per layer as `neurons`, none of them. */
  readonly randomDraws: number;
  /** Seeds the random sets and the noise. */
  readonly seed: number;
  /** Default "soft". */
  readonly positions?: InterventionPositions;
}

export interface SteeringSpec {
  readonly kind: "steering";
  readonly neuron: NeuronRef;
  /** a -> factor * a; factor 1 is the identity. */
  readonly factors: readonly number[];
  /** Default "soft". */
  readonly positions?: InterventionPositions;
}

export type CausalExperiment = AblationSpec | SteeringSpec;

/** Outputs of one forward of S_val under one condition, against the unintervened baseline. */
export interface ConditionOutcome {
  /** "baseline", "ablated", "random i" or "factor f". */
  readonly name: string;
  readonly neurons: readonly NeuronRef[];
  /** Steering factor of this condition. */
  readonly factor?: number;
  /** Fraction of samples whose teacher-forced argmax answer is the gold answer. */
  readonly accuracy: number;
  /** Mean over samples of the mean answer-token cross-entropy. */
  readonly meanLoss: number;
  /** Mean over samples of the gold answer's probability. */
  readonly meanGoldProb: number;
  /** Fraction of samples whose predicted answer differs from the baseline's. */
  readonly changed: number;
  /** Mean over samples of the mean over answer positions of KL(baseline || condition) (nats). */
  readonly meanKl: number;
  /** Per sample, in row order. */
  readonly perSample: {
    readonly loss: Float64Array;
    readonly goldProb: Float64Array;
    readonly correct: Uint8Array;
    readonly kl: Float64Array;
    readonly prediction: readonly string[];
  };
}

export interface AblationOutcome {
  readonly kind: "ablation";
  readonly mode: AblationMode;
  readonly positions: InterventionPositions;
  readonly sampleIds: readonly string[];
  readonly baseline: ConditionOutcome;
  readonly ablated: ConditionOutcome;
  readonly random: readonly ConditionOutcome[];
}

export interface SteeringOutcome {
  readonly kind: "steering";
  readonly neuron: NeuronRef;
  readonly positions: InterventionPositions;
  readonly sampleIds: readonly string[];
  readonly baseline: ConditionOutcome;
  /** One per factor, in the order given. */
  readonly factors: readonly ConditionOutcome[];
}

export type CausalOutcome = AblationOutcome | SteeringOutcome;
