import { ApolloServer, type ApolloServerOptions, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import type { GraphQLSchema } from "graphql";
import type { Server } from "node:http";
import { CompiledExecutor } from "../graphql/compiled-execution.js";
import type { GraphQLContext } from "../graphql/context.js";
import { ApiError, withHttpStatus } from "../graphql/errors.js";
import { admitOperation } from "../graphql/gate.js";
import type { ResponseCache } from "./response-cache.js";

/** Refuses operations the gate rejects, with the error's HTTP status. */
function admissionPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operationName, request, contextValue }) {
          try {
            admitOperation({
              schema,
              document,
              operationName,
              variables: request.variables,
              auth: contextValue.auth,
              limits: contextValue.services.limits,
            });
          } catch (error) {
            throw error instanceof ApiError ? withHttpStatus(error) : error;
          }
        },
      };
    },
  };
}

/** Marks answers of queries over one finished run for `responses`, and unmarks failed ones. */
function responseCachePlugin(responses: ResponseCache): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, request, contextValue }) {
          await responses.consider(contextValue.hints, document, operationName, request.variables);
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== "single" || (response.body.singleResult.errors?.length ?? 0) > 0) delete contextValue.hints.keepable;
        },
      };
    },
  };
}

type Gateway = NonNullable<ApolloServerOptions<GraphQLContext>["gateway"]>;

/**
 * Apollo's way to run operations with another executor (Apollo 5 has no `executor` option): a
 * gateway that serves one fixed schema and executes through CompiledExecutor. Everything before
 * execution (parsing, validation, the plugins) stays Apollo's.
 */
function compiledGateway(schema: GraphQLSchema): Gateway {
  const compiled = new CompiledExecutor(schema);
  const listeners = new Set<Parameters<Gateway["onSchemaLoadOrUpdate"]>[0]>();
  return {
    onSchemaLoadOrUpdate(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async load() {
      for (const listener of listeners) listener({ apiSchema: schema, coreSupergraphSdl: "" });
      return {
        schema,
        executor: (request) =>
          compiled.execute({
            document: request.document,
            operationName: request.request.operationName,
            variables: request.request.variables,
            contextValue: request.context,
          }),
      };
    },
    async stop() {},
  };
}

/**
 * Apollo Server over `schema`, draining `httpServer` and then `drainOthers` (the WebSocket
 * server) on `stop()`. Started; serve it with `executeHTTPGraphQLRequest`.
 */
export async function startApollo(
  schema: GraphQLSchema,
  httpServer: Server,
  drainOthers: () => Promise<void>,
  responses: ResponseCache,
): Promise<ApolloServer<GraphQLContext>> {
  const apollo = new ApolloServer<GraphQLContext>({
    gateway: compiledGateway(schema),
    includeStacktraceInErrorResponses: false,
    // Codegen, IDEs and the typed client read the schema whatever NODE_ENV says.
    introspection: true,
    // The owner of the process (the CLI) handles signals: it calls close(), which also closes the
    // database; Apollo's own handler would stop only Apollo and re-raise the signal.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { async serverWillStart() { return { drainServer: drainOthers }; } },
      admissionPlugin(),
      responseCachePlugin(responses),
      ApolloServerPluginLandingPageDisabled(),
      // Its hints are unused (kept answers carry their own Cache-Control), and it wraps every field's resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();
  return apollo;
}
