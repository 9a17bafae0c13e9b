import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import type { GraphQLContext } from "./context.js";
import { parseId } from "./ids.js";
import type { RunStatusEvent } from "./live-events.js";
import { RunStatusChange } from "./run-status.type.js";

@Resolver(() => RunStatusChange)
export class RunStatusResolver {
  @Subscription(() => RunStatusChange, {
    description: "The run's current state first, then each change.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GraphQLContext>) => context.services.live.subscribe("RUN_STATUS", String(parseId(args.runId as string, "runId"))),
  })
  runStatus(@Root() event: RunStatusEvent, @Arg("runId", () => ID) _runId: string): RunStatusChange {
    return event;
  }
}
