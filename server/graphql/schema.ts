import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { CausalConditionResolver, CausalResolver } from "./causal.resolver.js";
import { CompareResolver } from "./compare.resolver.js";
import { mapServiceErrors } from "./error-mapping.js";
import { ExplainResolver } from "./explain.resolver.js";
import { LeaderboardResolver } from "./leaderboard.resolver.js";
import type { LiveEvents } from "./live-events.js";
import { MetricResolver } from "./metric.resolver.js";
import { ModelResolver } from "./model.resolver.js";
import { ExtremalSampleResolver, NeuronResolver } from "./neuron.resolver.js";
import { RunStatusResolver } from "./run-status.resolver.js";
import { RunResolver } from "./run.resolver.js";
import { ServerInfoResolver } from "./server-info.resolver.js";
import { SignificanceResolver } from "./significance.resolver.js";
import { TaskResolver } from "./task.resolver.js";
import { TrainingProgressResolver } from "./training-progress.resolver.js";

/** Every resolver class of the API. */
const RESOLVERS = [
  ServerInfoResolver,
  ModelResolver,
  TaskResolver,
  RunResolver,
  MetricResolver,
  NeuronResolver,
  ExtremalSampleResolver,
  RunStatusResolver,
  TrainingProgressResolver,
  LeaderboardResolver,
  SignificanceResolver,
  CausalResolver,
  CausalConditionResolver,
  CompareResolver,
  ExplainResolver,
] as const;

/** The executable schema; subscriptions publish through `live`. */
export async function buildApiSchema(live: LiveEvents): Promise<GraphQLSchema> {
  return mapServiceErrors(await buildSchema({ resolvers: [...RESOLVERS], pubSub: live.pubSub, validate: false }));
}
