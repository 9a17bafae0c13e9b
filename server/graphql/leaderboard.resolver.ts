import { Arg, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import type { GraphQLContext } from "./context.js";
import { parseId } from "./ids.js";
import { pageSize } from "./limits.js";
import { leaderboardKey, type LeaderboardEvent } from "./live-events.js";
import { NeuronLeaderboard } from "./leaderboard.type.js";
import { neuronId } from "../../gpu-runner/neuron-id.js";

@Resolver(() => NeuronLeaderboard)
export class LeaderboardResolver {
  @Subscription(() => NeuronLeaderboard, {
    description: "The run's current top-k neurons for a metric first, then each update during extraction.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GraphQLContext>) => {
      pageSize(args.k as number, "k", context.services.limits);
      return context.services.live.subscribe("NEURON_LEADERBOARD", leaderboardKey(String(parseId(args.runId as string, "runId")), args.metric as string));
    },
  })
  neuronLeaderboard(
    @Root() event: LeaderboardEvent,
    @Arg("runId", () => ID) _runId: string,
    @Arg("metric") _metric: string,
    @Arg("k", () => Int, { defaultValue: 20, description: "How many neurons (at most the page limit)." }) k: number,
  ): NeuronLeaderboard {
    return {
      runId: event.runId,
      metric: event.metric,
      samplesSeen: event.samplesSeen,
      neurons: event.entries.slice(0, k).map((e, i) => ({ ...e, id: neuronId(e.layer, e.index), rank: i + 1 })),
    };
  }
}
