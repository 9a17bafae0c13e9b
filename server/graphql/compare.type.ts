import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { ActivationReading } from "./neuron.type.js";

/** Alternative neuron scores (server/compare/alternative-scores.ts ScoreKind). */
export enum ScoreKindValue {
  PEARSON = "pearson",
  SPEARMAN = "spearman",
  MUTUAL_INFORMATION = "mutualInformation",
  THRESHOLD_ACCURACY = "thresholdAccuracy",
}
registerEnumType(ScoreKindValue, {
  name: "ScoreKind",
  description:
    "PEARSON / SPEARMAN: correlation (ranked by |value|). MUTUAL_INFORMATION: binned MI in nats. " +
    "THRESHOLD_ACCURACY: held-out accuracy of the best single threshold (0/1 metrics only).",
});

@ObjectType({ description: "A neuron present in several runs, with its r in each (in the order of runIds)." })
export class NeuronAcrossRuns {
  @Field(() => ID, { description: "L{layer}.N{index}" })
  id!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int)
  index!: number;

  @Field(() => [Float], { description: "r per run, in runIds order." })
  r!: number[];
}

@ObjectType({ description: "A run's top-K neuron ids in rank order." })
export class RunTopK {
  @Field(() => ID)
  runId!: string;

  @Field(() => [String])
  neurons!: string[];
}

@ObjectType({ description: "Agreement of two runs' top-K sets." })
export class RunPairStability {
  @Field(() => ID)
  runA!: string;

  @Field(() => ID)
  runB!: string;

  @Field(() => Float, { description: "|A ∩ B| / |A ∪ B| of the top-K sets." })
  jaccard!: number;

  @Field(() => Float, { nullable: true, description: "Spearman of |r| over the union of both top-K sets; null when undefined." })
  spearman!: number | null;
}

@ObjectType({ description: "Stability of one metric's top-K neurons across the runs." })
export class MetricStability {
  @Field()
  metric!: string;

  @Field(() => [RunTopK])
  topK!: RunTopK[];

  @Field(() => [RunPairStability])
  pairs!: RunPairStability[];

  @Field(() => Float, { nullable: true })
  meanJaccard!: number | null;

  @Field(() => Float, { nullable: true, description: "Mean over pairs with a defined Spearman; null when none." })
  meanSpearman!: number | null;

  @Field(() => [NeuronAcrossRuns], { description: "Neurons in every run's top-K." })
  stable!: NeuronAcrossRuns[];
}

@ObjectType({ description: "How stable skill neurons are across prompt seeds: runs of one model and task compared by their top-K sets." })
export class StabilityReport {
  @Field(() => [ID])
  runIds!: string[];

  @Field(() => Int)
  k!: number;

  @Field(() => [MetricStability])
  metrics!: MetricStability[];
}

@ObjectType({ description: "Shift of one layer's r distribution between runs." })
export class LayerShift {
  @Field(() => Int)
  layer!: number;

  @Field(() => [Float], { nullable: "items", description: "Mean |r| over the layer's neurons per run (null where a run has none)." })
  meanAbsR!: (number | null)[];

  @Field(() => [Float], { description: "KS statistic of the layer's r distribution against the first run's (0 for the first)." })
  ks!: number[];
}

@ObjectType({ description: "Two or more runs of one model compared on a metric." })
export class RunComparison {
  @Field(() => [ID])
  runIds!: string[];

  @Field()
  metric!: string;

  @Field(() => Int)
  k!: number;

  @Field(() => [NeuronAcrossRuns], { description: "Neurons in every run's top-K." })
  shared!: NeuronAcrossRuns[];

  @Field(() => [NeuronAcrossRuns], { description: "Neurons scored in every run (largest |r| first, up to scatterLimit): points of an r-vs-r scatter." })
  scatter!: NeuronAcrossRuns[];

  @Field(() => [LayerShift])
  layers!: LayerShift[];
}

@ObjectType({ description: "The model's accuracy on a subset of the validation samples." })
export class SubsetAccuracy {
  @Field(() => Int)
  count!: number;

  @Field(() => Float, { nullable: true, description: "Fraction correct; null for an empty subset." })
  accuracy!: number | null;

  @Field(() => [String])
  sampleIds!: string[];
}

@ObjectType({ description: "Accuracy where a 0/1 heuristic and the label disagree (counterexamples) versus where they agree." })
export class CounterexampleReport {
  @Field(() => ID)
  runId!: string;

  @Field()
  heuristic!: string;

  @Field()
  label!: string;

  @Field(() => SubsetAccuracy, { description: "Heuristic and label disagree." })
  disagree!: SubsetAccuracy;

  @Field(() => SubsetAccuracy, { description: "Heuristic and label agree." })
  agree!: SubsetAccuracy;
}

@ObjectType({ description: "One neuron's value under every alternative score." })
export class NeuronScores {
  @Field(() => ID, { description: "L{layer}.N{index}" })
  id!: string;

  @Field(() => Int)
  index!: number;

  @Field(() => Int, { nullable: true, description: "The position this neuron was read at (see AlternativeScores.reading); null for MAX_OVER_POSITIONS." })
  position!: number | null;

  @Field(() => Float, { nullable: true, description: "Null where undefined, and at BEST_POSITION for a neuron with no defined r at any position." })
  pearson!: number | null;

  @Field(() => Float, { nullable: true })
  spearman!: number | null;

  @Field(() => Float, { nullable: true })
  mutualInformation!: number | null;

  @Field(() => Float, { nullable: true, description: "Null unless the metric is 0/1." })
  thresholdAccuracy!: number | null;
}

@ObjectType({ description: "The top-K neurons one score selects, best first." })
export class ScoreTopK {
  @Field(() => ScoreKindValue)
  score!: ScoreKindValue;

  @Field(() => [NeuronScores])
  neurons!: NeuronScores[];
}

@ObjectType({ description: "Jaccard overlap of two scores' top-K sets." })
export class ScoreOverlap {
  @Field(() => ScoreKindValue)
  a!: ScoreKindValue;

  @Field(() => ScoreKindValue)
  b!: ScoreKindValue;

  @Field(() => Float)
  jaccard!: number;
}

@ObjectType({ description: "Pearson, Spearman, mutual information and threshold accuracy of one layer's neurons with a metric, from the stored activations." })
export class AlternativeScores {
  @Field(() => ID)
  runId!: string;

  @Field()
  metric!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int, { description: "Samples with a defined metric value." })
  samples!: number;

  @Field(() => ActivationReading, {
    description:
      "What the scores read: BEST_POSITION (default) each neuron where its stored max |r| with the metric is, the position that ranked it, " +
      "so `pearson` equals the ranked r; POSITION one named position for every neuron (no position chosen per neuron); " +
      "MAX_OVER_POSITIONS each sample's maximum over positions, asked for explicitly.",
  })
  reading!: ActivationReading;

  @Field(() => [ScoreTopK])
  topK!: ScoreTopK[];

  @Field(() => [ScoreOverlap])
  overlap!: ScoreOverlap[];
}
