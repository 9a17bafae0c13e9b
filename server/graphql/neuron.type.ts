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

export enum Direction {
  HIGH = "high",
  LOW = "low",
}
registerEnumType(Direction, { name: "Direction", description: "HIGH: largest activations first; LOW: smallest first." });

@ObjectType({ description: "A neuron's correlation with a metric, ranked by |r| among the query's neurons." })
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

  @Field(() => Float, { nullable: true, description: "Two-sided p-value of r, when computed." })
  p!: number | null;

  @Field(() => Int, { nullable: true, description: "Soft position of r (null for MAX_ACTIVATION)." })
  bestPosition!: number | null;

  @Field(() => Int, { description: "1 = largest |r| among neurons matching the filters." })
  rank!: number;
}

@ObjectType()
export class NeuronEdge {
  @Field()
  cursor!: string;

  @Field(() => NeuronScore)
  node!: NeuronScore;
}

@ObjectType({ description: "A page of neurons ranked by |r| descending." })
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

  @Field(() => Float, { nullable: true, description: "Null when undefined (constant activation or metric)." })
  r!: number | null;

  @Field(() => Float, { nullable: true })
  p!: number | null;

  @Field(() => Int, { description: "Samples with a value of the metric." })
  samples!: number;
}

@ObjectType()
export class MetricValue {
  @Field()
  name!: string;

  @Field(() => Float, { nullable: true, description: "Null when the sample has no value." })
  value!: number | null;
}

@ObjectType({ description: "A validation sample where the neuron fires extremely, with its text and the model's answer." })
export class ExtremalSample {
  /** Run of the sample, for the metric values. */
  runId!: number;

  @Field(() => Int, { description: "1 = most extreme." })
  rank!: number;

  @Field(() => Int, { description: "Row of the sample in the run's validation set." })
  sampleIdx!: number;

  @Field()
  sampleId!: string;

  @Field(() => Float, { description: "The neuron's activation (at the position, or max over positions)." })
  activation!: number;

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
