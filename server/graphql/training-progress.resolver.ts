import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import type { GraphQLContext } from "./context.js";
import { parseId } from "./ids.js";
import type { TrainingProgressEvent } from "./live-events.js";
import { TrainingProgress } from "./training-progress.type.js";

@Resolver(() => TrainingProgress)
export class TrainingProgressResolver {
  @Subscription(() => TrainingProgress, {
    description: "The run's latest progress report first (if any), then each new one in order.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GraphQLContext>) =>
      context.services.live.subscribe("TRAINING_PROGRESS", String(parseId(args.runId as string, "runId"))),
  })
  trainingProgress(@Root() event: TrainingProgressEvent, @Arg("runId", () => ID) _runId: string): TrainingProgress {
    return event;
  }
}
