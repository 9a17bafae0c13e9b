import { Field, Float, ID, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "A probed neuron: the position that ranked it for the metric." })
export class ProbeNeuron {
  @Field(() => ID, { description: "L{layer}.N{index}" })
  id!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int)
  index!: number;

  @Field(() => Int, { description: "Soft position with the largest |r| with the metric on the stored validation activations." })
  bestPosition!: number;

  @Field(() => Float, { nullable: true, description: "r with the metric at bestPosition (null when undefined)." })
  r!: number | null;
}

@ObjectType({ description: "One neuron on one probed input." })
export class ProbeReading {
  @Field(() => ID)
  neuronId!: string;

  @Field(() => [Float], { description: "Activation at each soft position, 0..n-1." })
  activations!: number[];

  @Field(() => Float, { description: "Activation at the neuron's best position." })
  atBest!: number;

  @Field(() => Float, { description: "Mid-rank percentile (0..100) of atBest among the run's stored validation activations at the best position." })
  percentile!: number;
}

@ObjectType({ description: "One probed input: the model's answer and the neurons' readings." })
export class ProbeSample {
  @Field(() => ID, { description: "The sample id, the row's id, or input1, input2, ... for texts." })
  id!: string;

  @Field({ description: "The instruction the model saw (template applied unless raw)." })
  instruction!: string;

  @Field(() => String, { nullable: true, description: "The gold answer; null when the input gave none." })
  answer!: string | null;

  @Field({ description: "Greedy decoding for the answer length (the gold answer's, else the task's most common answer's)." })
  prediction!: string;

  @Field(() => Float, { nullable: true, description: "Probability of the gold answer (product over its tokens); null without one." })
  goldProb!: number | null;

  @Field(() => Float, { nullable: true, description: "Mean cross-entropy over the gold answer's tokens; null without one." })
  loss!: number | null;

  @Field(() => Boolean, { nullable: true, description: "Prediction equals the gold answer; null without one." })
  correct!: boolean | null;

  @Field(() => Float, {
    nullable: true,
    description: "Cross-entropy of the gold token at the first answer token that carries content (not a lone word-boundary piece); null without a gold answer or such a token.",
  })
  lossFirstContent!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: "Top token probability at the first answer token that carries content (the `confidence` metric); null when no answer token does.",
  })
  confidence!: number | null;

  @Field(() => Float, { description: "Top token probability at the first answer position, whatever token is there (the `confidence_first_position` metric)." })
  confidenceFirstPosition!: number;

  @Field(() => [ProbeReading], { description: "One per probed neuron, in the order of `neurons`." })
  readings!: ProbeReading[];
}

@ObjectType({ description: "A run's trained prompt forwarded on the given inputs, in a worker." })
export class ProbeResult {
  @Field(() => ID)
  runId!: string;

  @Field({ description: "The metric that chose the default neurons and each neuron's best position." })
  metric!: string;

  @Field(() => [ProbeNeuron])
  neurons!: ProbeNeuron[];

  @Field(() => [ProbeSample])
  samples!: ProbeSample[];

  @Field(() => Float, { description: "Wall time of the probe, seconds (worker start, model load and forwards included)." })
  seconds!: number;
}

@ObjectType({ description: "A held-out sample an explanation gets wrong." })
export class ExplanationMiss {
  @Field(() => ID)
  sampleId!: string;

  @Field(() => Float, { description: "The neuron's activation at its best position." })
  activation!: number;

  @Field(() => Float, { description: "The feature's value on the sample." })
  feature!: number;

  @Field({ description: "What the feature predicted: HIGH (above the held-out median activation) or LOW." })
  predicted!: string;
}

@ObjectType({ description: "A feature (or an LLM's text) that explains a neuron, scored on held-out samples." })
export class NeuronExplanation {
  @Field(() => ID, { description: "The neuron, L{layer}.N{index}." })
  neuronId!: string;

  @Field(() => ID)
  runId!: string;

  @Field(() => Int)
  layer!: number;

  @Field(() => Int)
  index!: number;

  @Field({ description: "The metric whose best position the activations were read at." })
  metric!: string;

  @Field(() => Int)
  position!: number;

  @Field({ description: "FEATURES (offline search) or LLM." })
  source!: string;

  @Field(() => Int, { description: "1 = the best explanation of this neuron from this source." })
  rank!: number;

  @Field({ description: "word:FIELD:WORD, bigram:..., word-set:..., metric:NAME, length:..., digit:..., overlap:A:B:MEASURE, or llm:MODEL." })
  featureId!: string;

  @Field({ description: "word, bigram, word-set, metric, length, digit, overlap or llm." })
  kind!: string;

  @Field({ description: "What the feature reads, in words (the LLM's explanation for source LLM)." })
  description!: string;

  @Field(() => [String], { description: "Words the feature reads (for search by driving word)." })
  words!: string[];

  @Field(() => Float, { nullable: true, description: "r with the activation on the ranking split (what shortlisted it)." })
  selectionR!: number | null;

  @Field(() => Float, { nullable: true, description: "r with the activation on held-out samples (for LLM: of the simulated activations)." })
  heldOutR!: number | null;

  @Field(() => Float, { nullable: true, description: "Held-out ROC AUC for 'activation above its median'." })
  heldOutAuc!: number | null;

  @Field(() => Float, { nullable: true, description: "Held-out Cohen's d: feature present (or above its median) vs not." })
  effectSize!: number | null;

  @Field(() => Int)
  heldOutSamples!: number;

  @Field(() => Int, { nullable: true, description: "Held-out samples it gets wrong." })
  missCount!: number | null;

  @Field(() => [ExplanationMiss], { description: "The held-out samples it gets most wrong." })
  misses!: ExplanationMiss[];

  @Field(() => [String], { description: "Features that say the same thing on the ranking split (|r| > 0.98 between them), by description." })
  equivalents!: string[];

  @Field({ description: "The neuron's page in the dashboard, relative to the server's URL (e.g. #/runs/2/neurons/L0.N130?metric=lexical_overlap)." })
  dashboardPath!: string;
}
