/** The typed skillscope client: `createClient({ url, token })` plus every typed document the CLI uses. */
export { createClient, graphqlEndpoints } from "./client.js";
export { ConnectionError, GraphQLRequestError } from "./errors.js";
export type { ClientOptions, GraphQLTransport, SkillscopeClient, VariablesArg } from "./client.js";
export * from "./documents.js";
export type { Direction, ImportTaskInput, MetricKind, NeuronAggregate, RunStatus, SampleValueInput } from "./generated/graphql.js";
