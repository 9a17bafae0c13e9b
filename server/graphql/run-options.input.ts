import { Field, Float, InputType, Int } from "type-graphql";
import { RUN_DEFAULTS, type RunOptions } from "../runs/run-options.js";

@InputType({ description: "How to train the soft prompt and what to extract; every field has a default." })
export class RunOptionsInput implements RunOptions {
  @Field(() => Int, { nullable: true, description: `Soft-prompt length n (default ${RUN_DEFAULTS.promptLength}).` })
  promptLength?: number;

  @Field(() => String, { nullable: true, description: '"after" the instruction (the default and the paper\'s layout). "prefix" is refused: in a causal model a prompt before the input cannot attend to it, so no r is defined.' })
  placement?: "after" | "prefix";

  @Field(() => Int, { nullable: true, description: `Optimizer steps (default ${RUN_DEFAULTS.steps}).` })
  steps?: number;

  @Field(() => Float, { nullable: true })
  lr?: number;

  @Field(() => Int, { nullable: true })
  batchSize?: number;

  @Field(() => Int, { nullable: true })
  gradAccumulation?: number;

  @Field(() => Int, { nullable: true })
  seed?: number;

  @Field(() => String, { nullable: true, description: '"vocab" (sampled vocabulary embeddings, default) or "normal" (seeded Gaussian, scale 0.5).' })
  init?: "normal" | "vocab";

  @Field(() => String, { nullable: true, description: "Initialise the prompt from this text's token embeddings, repeated to the prompt length (wins over init)." })
  initText?: string;

  @Field(() => Int, { nullable: true, description: "Validate every this many steps." })
  evalEvery?: number;

  @Field(() => Int, { nullable: true, description: "Validations without improvement before stopping early (0 = never)." })
  patience?: number;

  @Field(() => Int, { nullable: true })
  checkpointEvery?: number;

  @Field(() => [Int], { nullable: true, description: "Layers to record (default all)." })
  layers?: number[];

  @Field(() => [String], { nullable: true, description: "Metrics to score (default every metric the task offers)." })
  metrics?: string[];

  @Field(() => Int, { nullable: true, description: "onnxruntime intra-op threads." })
  threads?: number;

  @Field(() => String, { nullable: true, description: '"cpu" (default) or "cuda".' })
  device?: "cpu" | "cuda";

  @Field(() => String, {
    nullable: true,
    description: '"full" (default) stores every activation; "topk" keeps only each neuron\'s reservoirK highest and lowest activations (big models): extremal samples still work, added metrics, significance and activation histograms do not.',
  })
  storage?: "full" | "topk";

  @Field(() => Int, { nullable: true, description: 'Reservoir size k of storage "topk" (default 32, at most 1000): extremalSamples serves k up to this.' })
  reservoirK?: number;
}

/** The options without the fields GraphQL left unset (null or absent). */
export function toRunOptions(input: RunOptionsInput | null | undefined): RunOptions {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== null && v !== undefined)) as RunOptions;
}
