import { createClient, type Client } from "graphql-ws";

/** The GraphQL endpoint of the server that served this page. */
export const GRAPHQL_URL = new URL("graphql", document.baseURI).href;

/** A GraphQL request as sent; figures keep theirs so users can refetch the data themselves. */
export interface GraphQLRequest {
  query: string;
  variables: Record<string, unknown>;
}

/** The server answered with errors (or not at all). `code` is the first error's `extensions.code`. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "GraphQLRequestError";
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * Runs a query (or, with the bearer `token`, a mutation) over HTTP POST; throws
 * GraphQLRequestError on transport or GraphQL errors. Aborting `signal` closes the request (the
 * server then cancels a job the request started).
 */
export async function query<T>(request: GraphQLRequest, token?: string, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(request),
      signal,
    });
  } catch (error) {
    throw new GraphQLRequestError(`cannot reach ${GRAPHQL_URL} (${(error as Error).message}); is the server running?`, "NETWORK");
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    throw new GraphQLRequestError(`${GRAPHQL_URL} answered HTTP ${response.status} without a GraphQL body`, "BAD_RESPONSE");
  }
  if (body.errors?.length) {
    const first = body.errors[0]!;
    throw new GraphQLRequestError(body.errors.map((e) => e.message).join("; "), first.extensions?.code);
  }
  if (!body.data) throw new GraphQLRequestError(`${GRAPHQL_URL} answered HTTP ${response.status} without data`, "BAD_RESPONSE");
  return body.data;
}

let wsClient: Client | undefined;

/** One graphql-ws connection for the whole page (browsers' native WebSocket), opened lazily. */
function subscriptions(): Client {
  wsClient ??= createClient({
    url: GRAPHQL_URL.replace(/^http/, "ws"),
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  return wsClient;
}

/** Subscribes; `onData` gets each event's data. Returns the function that unsubscribes. */
export function subscribe<T>(request: GraphQLRequest, onData: (data: T) => void, onError: (error: GraphQLRequestError) => void): () => void {
  return subscriptions().subscribe<T>(request, {
    next: (result) => {
      if (result.errors?.length) onError(new GraphQLRequestError(result.errors.map((e) => e.message).join("; "), undefined));
      else if (result.data) onData(result.data as T);
    },
    error: (error) => onError(new GraphQLRequestError(describeSocketError(error), "SUBSCRIPTION")),
    complete: () => undefined,
  });
}

function describeSocketError(error: unknown): string {
  if (Array.isArray(error)) return error.map((e: { message?: string }) => e.message ?? String(e)).join("; ");
  if (error instanceof Error) return error.message;
  if (typeof CloseEvent !== "undefined" && error instanceof CloseEvent) return `the subscription socket closed (${error.code} ${error.reason})`;
  return String(error);
}
