import { GraphQLJSON } from "graphql-scalars";
import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import type { RunStatus as RunStatusName } from "../store/index.js";
import { PageInfo } from "./pagination.js";
import { RunStatus } from "./run-status.type.js";

@ObjectType({ description: "A soft-prompt training + activation extraction run of one model on one task." })
export class Run {
  @Field(() => ID)
  id!: string;

  /** Resolved to `model` by the resolver. */
  modelId!: number;

  /** Resolved to `task` by the resolver. */
  taskId!: number;

  @Field(() => RunStatus)
  status!: RunStatusName;

  @Field(() => String, { nullable: true, description: "Why the run failed or was interrupted." })
  error!: string | null;

  @Field(() => GraphQLJSON, { description: "The run's configuration as started." })
  config!: unknown;

  @Field(() => String, { nullable: true, description: "What a neuron is in this run, e.g. act(c_fc(x)) for GPT-2." })
  neuronDefinition!: string | null;

  @Field(() => [Int], { nullable: true, description: "Layers whose activations were recorded." })
  layers!: number[] | null;

  @Field(() => Int, { nullable: true, description: "Soft-token positions per sample (P)." })
  positions!: number | null;

  @Field(() => Int, { nullable: true, description: "Neurons per layer (d_ff)." })
  dFF!: number | null;

  @Field(() => GraphQLJSON, { nullable: true })
  timings!: unknown;

  @Field(() => GraphQLJSON, { nullable: true, description: "Training figures (loss, steps, ...)." })
  trainFigures!: unknown;

  @Field(() => Int, {
    nullable: true,
    description:
      "The training step whose prompt was kept and extracted with: the one with the best dev loss (dev: the task's dev split, or a " +
      "seeded share of train when it has none; never the analysed val samples). Null before training ends.",
  })
  keptPromptStep!: number | null;

  @Field(() => Int, { nullable: true, description: "Optimizer steps training ran (fewer than asked when it stopped early)." })
  trainedSteps!: number | null;

  @Field(() => GraphQLJSON, { nullable: true, description: "Validation figures (loss, accuracy, ...)." })
  valFigures!: unknown;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}

@ObjectType()
export class RunEdge {
  @Field()
  cursor!: string;

  @Field(() => Run)
  node!: Run;
}

@ObjectType({ description: "A page of runs, newest first." })
export class RunConnection {
  @Field(() => [RunEdge])
  edges!: RunEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: "Runs matching the filter, over all pages." })
  totalCount!: number;
}

/** Kinds of metric, by origin. */
export enum MetricKind {
  BUILTIN = "builtin",
  HEURISTIC = "heuristic",
  COLUMN = "column",
  ADDED = "added",
}
registerEnumType(MetricKind, {
  name: "MetricKind",
  description: "BUILTIN (label, loss, ...), HEURISTIC (detectors), COLUMN (task columns), ADDED (after the run).",
});

@ObjectType({ description: "An auxiliary metric of a run's validation samples." })
export class Metric {
  @Field()
  name!: string;

  @Field(() => MetricKind)
  kind!: `${MetricKind}`;

  @Field(() => String, { nullable: true })
  description!: string | null;
}

@ObjectType({ description: "One stored training event of a run (the runner's progress message)." })
export class RunEvent {
  @Field(() => Int)
  seq!: number;

  @Field(() => GraphQLJSON)
  payload!: unknown;

  @Field()
  createdAt!: Date;
}

@ObjectType({ description: "Work on a finished run (an ablation, a steering sweep) while it waits in the run queue or runs." })
export class Job {
  @Field(() => ID, { description: "Give it to cancelJob." })
  id!: string;

  @Field({ description: 'What it does: "ablation" or "steering".' })
  kind!: string;

  @Field({ description: '"queued" (behind earlier runs and jobs) or "running".' })
  state!: string;

  @Field(() => String, { nullable: true, description: "The job's latest status line." })
  status!: string | null;
}
