import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { PageInfo } from "./pagination.js";

/** How scores over soft-token positions become one score per neuron. */
export enum NeuronAggregate {
  MAX_ABS_OVER_POSITIONS = "max_abs_r",
  MAX_ACTIVATION = "max_act",
}
registerEnumType(NeuronAggregate, {
  name: "NeuronAggregate",
  description:
    "MAX_ABS_OVER_POSITIONS: the r with the largest |r| over positions (its position is bestPosition). " +
    "MAX_ACTIVATION: r of the activation maximised over positions.",
});

/** What a neuron's extremal samples and activation histogram read. */
export enum ActivationReading {
  BEST_POSITION = "best_position",
  POSITION = "position",
  MAX_OVER_POSITIONS = "max_over_positions",
}
registerEnumType(ActivationReading, {
  name: "ActivationReading",
  description:
    "BEST_POSITION: the position where |r| with the requested metric peaks, the one that ranked the neuron (the default). " +
    "POSITION: a position the query named. MAX_OVER_POSITIONS: each sample's maximum over positions, asked for explicitly; " +
    "its correlation with a metric can differ from, even reverse, the r the neuron was ranked by.",
});

export enum UndefinedReason {
  TOO_FEW_SAMPLES = "too_few_samples",
  CONSTANT_METRIC = "constant_metric",
  CONSTANT_ACTIVATION = "constant_activation",
}
registerEnumType(UndefinedReason, {
  name: "UndefinedReason",
  description:
    "Why r has no value: TOO_FEW_SAMPLES (fewer than 3 samples have a value of the metric), CONSTANT_METRIC (the metric takes one value on " +
    "those samples), CONSTANT_ACTIVATION (the neuron's activation there takes one value).",
});

export enum Direction {
  HIGH = "high",
  LOW = "low",
}
registerEnumType(Direction, { name: "Direction", description: "HIGH: largest activations first; LOW: smallest first." });

// simpleResolvers: fields without a resolver method are read as plain properties, with no type-graphql
// resolver per field (pages return these by the hundred; no middleware applies to them).
@ObjectType({ description: "A neuron's correlation with a metric, ranked by |r| among the query's neurons.", simpleResolvers: true })
export class NeuronScore {
  @Field(() => ID, { description: "L{layer}.N{index}" })
  id!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int, { description: "Neuron index within the layer's FFN (0..dFF-1)." })
  index!: number;

  @Field()
  metric!: string;

  @Field(() => Float, { description: "Signed Pearson r." })
  r!: number;

  @Field(() => Float, {
    nullable: true,
    description:
      "Analytic two-sided p of r at its position taken alone (Student t, N - 2 df). For MAX_ABS_OVER_POSITIONS it ignores that the position was " +
      "chosen as the best of P and so overstates significance: read pCorrected.",
  })
  pAtPosition!: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      "p corrected for choosing the best of P positions, Sidak 1 - (1 - pAtPosition)^P (conservative when positions correlate), for " +
      "MAX_ABS_OVER_POSITIONS; equal to pAtPosition for a named position or MAX_ACTIVATION, where nothing was chosen. The p to read a ranking against.",
  })
  pCorrected!: number | null;

  @Field(() => Int, { nullable: true, description: "Soft position of r (null for MAX_ACTIVATION)." })
  bestPosition!: number | null;

  @Field(() => Int, { description: "1 = largest |r| among neurons matching the filters." })
  rank!: number;
}

@ObjectType({ simpleResolvers: true })
export class NeuronEdge {
  @Field()
  cursor!: string;

  @Field(() => NeuronScore)
  node!: NeuronScore;
}

@ObjectType({ description: "A page of neurons ranked by |r| descending.", simpleResolvers: true })
export class NeuronConnection {
  @Field(() => [NeuronEdge])
  edges!: NeuronEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: "Neurons matching the filters, over all pages." })
  totalCount!: number;
}

@ObjectType({ description: "One neuron of a run; its fields compute from the stored activations." })
export class Neuron {
  @Field(() => ID, { description: "L{layer}.N{index}" })
  id!: string;

  @Field(() => ID)
  runId!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int)
  index!: number;
}

@ObjectType({ description: "r of a neuron's activation at one soft position with a metric." })
export class PositionCorrelation {
  @Field(() => Int)
  position!: number;

  @Field(() => Float, { nullable: true, description: "Null when undefined; undefinedBecause says why." })
  r!: number | null;

  @Field(() => UndefinedReason, { nullable: true, description: "Why r is undefined; null when r has a value." })
  undefinedBecause!: UndefinedReason | null;

  @Field(() => Float, { nullable: true, description: "Analytic two-sided p of r at this position alone, not corrected for choosing a best position." })
  pAtPosition!: number | null;

  @Field(() => Int, { description: "Samples with a value of the metric." })
  samples!: number;
}

@ObjectType({ simpleResolvers: true })
export class MetricValue {
  @Field()
  name!: string;

  @Field(() => Float, { nullable: true, description: "Null when the sample has no value." })
  value!: number | null;
}

@ObjectType({ description: "A validation sample where the neuron fires extremely, with its text and the model's answer.", simpleResolvers: true })
export class ExtremalSample {
  /** Run of the sample, for the metric values. */
  runId!: number;

  @Field(() => Int, { description: "1 = most extreme." })
  rank!: number;

  @Field(() => Int, { description: "The sample's ordinal in the run's analysed (val) split: the key of its stored activations." })
  sampleIdx!: number;

  @Field()
  sampleId!: string;

  @Field(() => Float, { description: "The neuron's activation as `reading` reads it." })
  activation!: number;

  @Field(() => ActivationReading, { description: "What was read: the best position for the metric, a named position, or the max over positions." })
  reading!: ActivationReading;

  @Field(() => Int, {
    nullable: true,
    description: "The position read; for MAX_OVER_POSITIONS the position where this sample peaked (null for a storage \"topk\" run, whose reservoirs keep only the value).",
  })
  position!: number | null;

  @Field(() => String, { nullable: true, description: "The rendered instruction." })
  text!: string | null;

  @Field(() => String, { nullable: true, description: "The gold answer text." })
  answer!: string | null;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field(() => String, { nullable: true, description: "The model's greedy answer." })
  prediction!: string | null;

  @Field(() => Boolean, { nullable: true })
  correct!: boolean | null;

  @Field(() => Float, { nullable: true, description: "Cross-entropy on the answer tokens." })
  loss!: number | null;
}

@ObjectType({ description: "Counts of values in equal bins; bin i is [edges[i], edges[i+1]), the last bin closed." })
export class HistogramData {
  @Field(() => [Float], { description: "bins + 1 edges." })
  edges!: number[];

  @Field(() => [Int])
  counts!: number[];

  @Field(() => Int, { description: "Values that were undefined (NaN r), not in any bin." })
  undefinedCount!: number;
}

@ObjectType({ description: "A neuron's activations over the validation samples in equal bins, with what was read." })
export class ActivationHistogram extends HistogramData {
  @Field(() => ActivationReading, { description: "What was read: the best position for the metric, a named position, or the max over positions." })
  reading!: ActivationReading;

  @Field(() => Int, { nullable: true, description: "The position read; null for MAX_OVER_POSITIONS." })
  position!: number | null;
}
