/** The typed skillscope client: `createClient({ url, token })` plus every typed document the CLI uses. */
export { createClient, graphqlEndpoints, ConnectionError, GraphQLRequestError } from "./client.js";
export type { ClientOptions, GraphQLTransport, SkillscopeClient, VariablesArg } from "./client.js";
export * from "./documents.js";
export type { Direction, ImportTaskInput, MetricKind, NeuronAggregate, RunStatus, SampleValueInput } from "./generated/graphql.js";
