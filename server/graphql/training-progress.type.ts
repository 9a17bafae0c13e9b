import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { TrainingProgressEvent } from "./live-events.js";

@ObjectType({ description: "One progress report of a run's prompt training." })
export class TrainingProgress implements TrainingProgressEvent {
  @Field(() => ID)
  runId!: string;

  @Field(() => Int, { description: "Event number within the run (the stored sequence, from 1); later events have larger numbers." })
  seq!: number;

  @Field({ description: "What the runner is doing: training or extracting." })
  phase!: string;

  @Field(() => Int)
  step!: number;

  @Field(() => Int, { nullable: true, description: "Steps (training) or batches (extracting) of the phase." })
  totalSteps?: number | null;

  @Field(() => Float, { description: "Epochs done, fractional within an epoch." })
  epoch!: number;

  @Field(() => Float, { description: "Mean cross-entropy over answer tokens of the last step." })
  loss!: number;

  @Field(() => Float, { description: "Learning rate of the last step." })
  lr!: number;

  @Field(() => Float, { nullable: true, description: "Gradient norm of the last step (training)." })
  gradNorm?: number | null;

  @Field(() => Float, { nullable: true, description: "Validation loss, on steps that ran validation." })
  valLoss?: number | null;

  @Field(() => Float, { nullable: true, description: "Validation accuracy in [0, 1], on steps that ran validation." })
  valAccuracy?: number | null;

  @Field(() => Float)
  tokensPerSec!: number;

  @Field(() => Float, { nullable: true, description: "Estimated seconds until training ends." })
  etaSec?: number | null;
}
