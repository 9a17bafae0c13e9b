import { Field, Float, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "Observed r of one layer (every position and neuron) against the permutation null, in equal bins over [-1, 1]." })
export class LayerNullHistogram {
  @Field(() => Int)
  layer!: number;

  @Field(() => [Float], { description: "bins + 1 edges." })
  edges!: number[];

  @Field(() => [Int], { description: "Observed (position, neuron) pairs per bin." })
  observed!: number[];

  @Field(() => [Float], { description: "Expected count per bin if no neuron carried the metric (the shuffled-metric null)." })
  expectedNull!: number[];
}

@ObjectType({ description: "How far a run's correlations with a metric stand above chance: a seeded permutation null from the stored activations." })
export class Significance {
  @Field()
  metric!: string;

  @Field(() => Int)
  permutations!: number;

  @Field(() => Int, { description: "Samples with a value of the metric." })
  samples!: number;

  @Field(() => Int, { description: "(layer, position, neuron) triples tested." })
  tests!: number;

  @Field(() => Float, { description: "99.9th percentile of the pooled null |r|." })
  pooledAbsR999!: number;

  @Field(() => Float, { description: "99.9th percentile of the null max |r| over all neurons: above it, a neuron beats chance family-wise." })
  maxAbsR999!: number;

  @Field(() => Float, { description: "|r| with analytic two-sided p = 0.001 (Student t, N - 2 df)." })
  analyticAbsR999!: number;

  @Field(() => Float, { nullable: true, description: "Smallest |r| significant under Benjamini-Hochberg at q; null when nothing is." })
  bhAbsRThreshold!: number | null;

  @Field(() => Float)
  q!: number;

  @Field(() => Int, { description: "(layer, position, neuron) tests significant under Benjamini-Hochberg at q over their pooled permutation p (uncorrected for choosing a position)." })
  discoveries!: number;

  @Field(() => Int, { description: "Neurons tested once each, at their best position (those with a defined r)." })
  neuronTests!: number;

  @Field(() => Int, {
    description: "Neurons significant under Benjamini-Hochberg at q over their position-corrected p (pCorrected: the analytic p of the best position, Sidak-corrected for choosing it among P).",
  })
  neuronDiscoveries!: number;

  @Field(() => Float, { description: "Largest position-corrected p declared significant by neuronDiscoveries; 0 when none is." })
  neuronPCorrectedThreshold!: number;

  @Field(() => [LayerNullHistogram])
  layers!: LayerNullHistogram[];
}
