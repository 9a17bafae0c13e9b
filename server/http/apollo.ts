import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import type { GraphQLSchema } from "graphql";
import type { Server } from "node:http";
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
    schema,
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
