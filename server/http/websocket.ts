import { parse, specifiedRules, validate, type DocumentNode, type ExecutionArgs, type GraphQLError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { IncomingMessage } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { createContext, type RequestAuth, type Services } from "../graphql/context.js";
import { ApiError } from "../graphql/errors.js";
import { admitOperation } from "../graphql/gate.js";
import type { Authenticator } from "./auth.js";

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
  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => replaceErrorLog(socket, request, services.limits.maxBodyBytes));
  return {
    wss,
    async dispose() {
      await disposable.dispose();
    },
  };
}

/**
 * A socket error (a frame over the size limit, invalid UTF-8, a reset) ends only that connection,
 * which ws has already closed with the matching code. graphql-ws would log it with a stack trace
 * as an internal error; it is the peer's doing, so it gets one line naming the peer and the size.
 */
function replaceErrorLog(socket: WebSocket, request: IncomingMessage, maxBytes: number): void {
  const peer = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
  socket.removeAllListeners("error");
  socket.on("error", (error: Error & { code?: string }) => {
    if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
      const declared = declaredMessageBytes(socket);
      const size = declared === undefined ? `more than ${maxBytes} bytes` : `${declared} bytes`;
      process.stderr.write(`skillscope: refused a WebSocket message of ${size} from ${peer} (limit ${maxBytes} bytes)\n`);
    } else {
      process.stderr.write(`skillscope: closed the WebSocket connection from ${peer}: ${error.message}\n`);
    }
  });
}

/**
 * Length the refused message declared (its frames so far, this one included), from ws's frame
 * receiver: ws refuses on the length field before reading the payload and reports no size. ws is
 * pinned; the reliability test fails if this stops reading a number.
 */
function declaredMessageBytes(socket: WebSocket): number | undefined {
  const total = (socket as unknown as { _receiver?: { _totalPayloadLength?: unknown } })._receiver?._totalPayloadLength;
  return typeof total === "number" ? total : undefined;
}
