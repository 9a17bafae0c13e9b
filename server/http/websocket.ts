import { parse, specifiedRules, validate, type DocumentNode, type ExecutionArgs, type GraphQLError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { IncomingMessage } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { createContext, type RequestAuth, type Services } from "../graphql/context.js";
import { ApiError } from "../graphql/errors.js";
import { admitOperation } from "../graphql/gate.js";
import type { Authenticator } from "./auth.js";
import { logSocketErrors } from "./socket-errors.js";

/**
 * graphql-ws over a WebSocket server the HTTP server hands `/graphql` upgrades to. Reads follow the HTTP rules (loopback, or remote reads
 * allowed, or the token); the token may come in connectionParams.authorization or the upgrade
 * request's Authorization header. Every operation passes the same gate as over HTTP.
 */
export function attachGraphQLWebSocket(options: {
  schema: GraphQLSchema;
  services: Services;
  authenticator: Authenticator;
}): { wss: WebSocketServer; dispose(): Promise<void> } {
  const { schema, services, authenticator } = options;
  // noServer: the HTTP server routes upgrades by path (graphql-ws here, remote runners at /ingest)
  const wss = new WebSocketServer({ noServer: true, maxPayload: services.limits.maxBodyBytes });
  const disposable = useServer<Record<string, unknown> | undefined, { auth: RequestAuth }>(
    {
      schema,
      onConnect(ctx) {
        const request = ctx.extra.request;
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization ?? request.headers.authorization;
        const auth = authenticator.check(authorization, request.socket.remoteAddress);
        ctx.extra.auth = auth;
        // false closes the socket with 4403 Forbidden.
        return auth.canRead;
      },
      onSubscribe(ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = validate(schema, document, specifiedRules);
        if (errors.length > 0) return errors;
        const auth = ctx.extra.auth ?? { canRead: false, canWrite: false };
        const contextValue = createContext(services, auth);
        try {
          admitOperation({ schema, document, operationName: payload.operationName, variables: payload.variables, auth, limits: services.limits });
        } catch (error) {
          if (error instanceof ApiError) return [error];
          throw error;
        }
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
    },
    wss,
  );
  // after graphql-ws's own listener, which would log a peer's bad frame as an internal error with its stack
  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => logSocketErrors(socket, request, services.limits.maxBodyBytes));
  return {
    wss,
    async dispose() {
      await disposable.dispose();
    },
  };
}

