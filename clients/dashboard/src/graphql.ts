/**
 * The dashboard's connection to the server that served the page: the typed client's documents over
 * its shared HTTP transport (clients/client/http.ts) and errors, plus one graphql-ws connection that
 * reconnects for the live panels.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type DocumentNode } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { GraphQLRequestError, subscriptionError } from "../../client/errors.js";
import { operationName, postGraphQL } from "../../client/http.js";

/** The GraphQL endpoint of the server that served this page. */
export const GRAPHQL_URL = new URL("graphql", document.baseURI).href;

/** A typed request as sent; figures keep theirs so users can refetch the data themselves. */
export interface GraphQLRequest<R = unknown, V = Record<string, unknown>> {
  readonly document: TypedDocumentNode<R, V>;
  readonly variables: V;
}

/** Any request, as a figure keeps it (to show and download). */
export interface SentRequest {
  readonly document: DocumentNode;
  readonly variables: unknown;
}

/** The request's query text (what the server receives). */
export function queryText(request: SentRequest): string {
  return print(request.document);
}

/**
 * Runs a query (or, with the bearer `token`, a mutation); throws the client's GraphQLRequestError or
 * ConnectionError. Aborting `signal` closes the request (the server then cancels a job it started).
 */
export function query<R, V>(request: GraphQLRequest<R, V>, token?: string, signal?: AbortSignal): Promise<R> {
  return postGraphQL(GRAPHQL_URL, request.document, request.variables, { authorization: token ? `Bearer ${token}` : undefined, signal });
}

let wsClient: Client | undefined;
const WS_URL = GRAPHQL_URL.replace(/^http/, "ws");

/** One graphql-ws connection for the whole page (browsers' native WebSocket), opened lazily; it reconnects. */
function subscriptions(): Client {
  wsClient ??= createClient({ url: WS_URL, lazy: true, retryAttempts: Infinity, shouldRetry: () => true });
  return wsClient;
}

/** Subscribes; `onData` gets each event's data. Returns the function that unsubscribes. */
export function subscribe<R, V>(request: GraphQLRequest<R, V>, onData: (data: R) => void, onError: (error: Error) => void): () => void {
  const operation = operationName(request.document);
  return subscriptions().subscribe<R>(
    { query: print(request.document), variables: request.variables as Record<string, unknown>, operationName: operation },
    {
      next: (result) => {
        if (result.errors?.length) onError(new GraphQLRequestError(result.errors, operation));
        else if (result.data) onData(result.data);
      },
      error: (error) => onError(subscriptionError(error, operation, WS_URL)),
      complete: () => undefined,
    },
  );
}
