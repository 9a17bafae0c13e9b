import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";

/** How an ablated neuron's activation is replaced (gpu-runner/causal/types.ts AblationMode). */
export enum AblationModeValue {
  ZERO = "zero",
  MEAN = "mean",
  NOISE = "noise",
}
registerEnumType(AblationModeValue, {
  name: "AblationMode",
  description: "ZERO: a -> 0. MEAN: a -> the neuron's mean over the validation set. NOISE: a -> mean + sd * z (matched mean and variance, no signal).",
});

export enum InterventionPositionsValue {
  SOFT = "soft",
  ALL = "all",
}
registerEnumType(InterventionPositionsValue, {
  name: "InterventionPositions",
  description: "SOFT: intervene at the soft-prompt positions only (where the neurons were scored). ALL: at every position.",
});

@ObjectType({ description: "An estimate with its 95% interval; values are null when undefined (e.g. no random draws, or too few for an interval)." })
export class Interval {
  @Field(() => Float, { nullable: true })
  estimate!: number | null;

  @Field(() => Float, { nullable: true })
  low!: number | null;

  @Field(() => Float, { nullable: true })
  high!: number | null;
}

@ObjectType({ description: "One measure's change under ablation (condition minus baseline)." })
export class CausalEffect {
  @Field(() => Interval, { description: "Ablated set: mean paired difference over samples, 95% bootstrap interval." })
  ablated!: Interval;

  @Field(() => Interval, { description: "Random control sets: mean over draws of their mean difference, 95% t interval over draws." })
  random!: Interval;

  @Field(() => Interval, { description: "Ablated minus random, 95% t interval over draws." })
  effect!: Interval;

  @Field(() => Float, { nullable: true, description: "(ablated - mean random) / sd of the random draws; null with fewer than 2 draws or no spread." })
  z!: number | null;

  @Field(() => Float, { description: "(1 + draws with |delta| >= |ablated delta|) / (1 + draws): rank p-value of the ablated set among the random sets." })
  pRandom!: number;
}

@ObjectType({ description: "Changes of every measure under ablation." })
export class CausalEffects {
  @Field(() => CausalEffect, { description: "Fraction of samples answered correctly." })
  accuracy!: CausalEffect;

  @Field(() => CausalEffect, { description: "Mean answer-token cross-entropy." })
  loss!: CausalEffect;

  @Field(() => CausalEffect, { description: "Probability of the gold answer." })
  goldProb!: CausalEffect;

  @Field(() => CausalEffect, { description: "KL(baseline || condition) over answer positions, nats." })
  kl!: CausalEffect;
}

@ObjectType({ description: "One validation sample's outputs under a condition." })
export class CausalSampleOutcome {
  @Field()
  sampleId!: string;

  @Field(() => Float)
  loss!: number;

  @Field(() => Float)
  goldProb!: number;

  @Field()
  correct!: boolean;

  @Field(() => Float, { description: "KL(baseline || condition), nats." })
  kl!: number;

  @Field()
  prediction!: string;
}

/** Per-sample arrays of a condition, in sample order (kept off the schema; `samples` pages them). */
export interface ConditionSamples {
  readonly sampleIds: readonly string[];
  readonly loss: ArrayLike<number>;
  readonly goldProb: ArrayLike<number>;
  readonly correct: ArrayLike<number>;
  readonly kl: ArrayLike<number>;
  readonly prediction: readonly string[];
}

@ObjectType({ description: "The validation set forwarded under one condition: baseline, ablated set, a random set, or a steering factor." })
export class CausalCondition {
  @Field({ description: '"baseline", "ablated", "random i" or "factor f".' })
  name!: string;

  @Field(() => [String], { description: "Intervened neurons, L{layer}.N{index}." })
  neurons!: string[];

  @Field(() => Float, { nullable: true, description: "Steering factor (steering conditions only)." })
  factor!: number | null;

  @Field(() => Float)
  accuracy!: number;

  @Field(() => Float)
  meanLoss!: number;

  @Field(() => Float)
  meanGoldProb!: number;

  @Field(() => Float, { description: "Fraction of samples whose predicted answer differs from the baseline's." })
  changed!: number;

  @Field(() => Float, { description: "Mean KL(baseline || condition), nats." })
  meanKl!: number;

  /** Source of the `samples` field. */
  perSample!: ConditionSamples;
}

@ObjectType({ description: "A neuron an ablation intervened on." })
export class AblatedNeuron {
  @Field(() => ID, { description: "L{layer}.N{index}" })
  id!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int)
  index!: number;

  @Field(() => Float, { nullable: true, description: "Its r with the metric, when taken from the ranking." })
  r!: number | null;

  @Field(() => Int, { nullable: true, description: "Position of that r (null for MAX_ACTIVATION)." })
  position!: number | null;
}

@ObjectType({ description: "Causal check of a metric's top-K neurons: the validation set forwarded with them ablated, and with random neuron sets of the same layers as controls." })
export class AblationReport {
  @Field(() => ID)
  runId!: string;

  @Field()
  metric!: string;

  @Field(() => AblationModeValue)
  mode!: AblationModeValue;

  @Field(() => InterventionPositionsValue)
  positions!: InterventionPositionsValue;

  @Field(() => Int)
  seed!: number;

  @Field(() => Int, { description: "Validation samples forwarded per condition." })
  sampleCount!: number;

  @Field(() => [AblatedNeuron])
  neurons!: AblatedNeuron[];

  @Field(() => CausalCondition)
  baseline!: CausalCondition;

  @Field(() => CausalCondition)
  ablated!: CausalCondition;

  @Field(() => [CausalCondition], { description: "One per random draw." })
  random!: CausalCondition[];

  @Field(() => CausalEffects)
  deltas!: CausalEffects;
}

@ObjectType({ description: "One neuron scaled by factors at the intervened positions, and how predictions move." })
export class SteeringReport {
  @Field(() => ID)
  runId!: string;

  @Field(() => ID, { description: "L{layer}.N{index}" })
  neuronId!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int)
  index!: number;

  @Field(() => InterventionPositionsValue)
  positions!: InterventionPositionsValue;

  @Field(() => Int)
  sampleCount!: number;

  @Field(() => CausalCondition)
  baseline!: CausalCondition;

  @Field(() => [CausalCondition], { description: "One per factor, in the order given (factor 1 reproduces the baseline)." })
  factors!: CausalCondition[];
}
