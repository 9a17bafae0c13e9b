/**
 * The typed skillscope client: queries and mutations over HTTP, subscriptions over graphql-ws,
 * with the server's bearer token. Documents are typed (clients/client/documents.ts), so results
 * and variables are checked at compile time.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import WebSocket from "ws";
import { ConnectionError, GraphQLRequestError, subscriptionError } from "./errors.js";
import { operationName, postGraphQL } from "./http.js";
import { mapAsyncIterator, OpenIterators } from "./map-iterator.js";

/** Variables argument: optional when the operation has no required variables. */
export type VariablesArg<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

/** What the CLI and scripts need from a connection to skillscope, remote or in-process. */
export interface GraphQLTransport {
  /** Runs a query or mutation; throws GraphQLRequestError when the server answers with errors. */
  execute<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Promise<R>;
  /** Results of a subscription as they come; `return()` (or `break`) ends it. */
  subscribe<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): AsyncIterableIterator<R>;
  /** Ends open subscriptions and connections. */
  close(): Promise<void>;
}

export interface ClientOptions {
  /** The server's base URL (http://127.0.0.1:4000) or its GraphQL endpoint (.../graphql). */
  url: string;
  /** Bearer token (`<dataDir>/token` on the server); needed for mutations. */
  token?: string;
}

export interface SkillscopeClient extends GraphQLTransport {
  /** The HTTP GraphQL endpoint in use. */
  readonly endpoint: string;
  query<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Promise<R>;
  mutate<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Promise<R>;
}

/** `http://host:port` (or with `/graphql`) -> the HTTP and WebSocket GraphQL endpoints. */
export function graphqlEndpoints(url: string): { http: string; ws: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectionError(`server URL "${url}" is not a URL; give e.g. http://127.0.0.1:4000`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConnectionError(`server URL "${url}" must start with http:// or https://`);
  }
  if (parsed.pathname === "/" || parsed.pathname === "") parsed.pathname = "/graphql";
  const http = parsed.toString();
  parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
  return { http, ws: parsed.toString() };
}

/** A client for a running skillscope server. */
export function createClient(options: ClientOptions): SkillscopeClient {
  const { http, ws } = graphqlEndpoints(options.url);
  const authorization = options.token ? `Bearer ${options.token}` : undefined;
  let wsClient: WsClient | undefined;
  const open = new OpenIterators();

  const execute = <R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R> => postGraphQL(http, document, variables, { authorization });

  const subscribe = <R, V>(document: TypedDocumentNode<R, V>, variables?: V): AsyncIterableIterator<R> => {
    wsClient ??= createWsClient({
      url: ws,
      webSocketImpl: WebSocket,
      connectionParams: authorization ? { authorization } : {},
      lazy: true,
      retryAttempts: 0,
    });
    const operation = operationName(document);
    const source = wsClient.iterate<R>({ query: print(document), variables: (variables ?? {}) as Record<string, unknown>, operationName: operation });
    const results = mapAsyncIterator(
      source,
      (result) => {
        if (result.errors && result.errors.length > 0) throw new GraphQLRequestError(result.errors, operation);
        if (result.data == null) throw new ConnectionError(`${ws} sent a ${operation} result without data`);
        return result.data;
      },
      (error) => subscriptionError(error, operation, ws),
    );
    return open.track(results);
  };

  return {
    endpoint: http,
    execute: execute as SkillscopeClient["execute"],
    query: execute as SkillscopeClient["query"],
    mutate: execute as SkillscopeClient["mutate"],
    subscribe: subscribe as SkillscopeClient["subscribe"],
    async close() {
      await open.closeAll();
      await wsClient?.dispose();
      wsClient = undefined;
    },
  };
}
