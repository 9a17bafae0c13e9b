/**
 * The errors every skillscope GraphQL client throws (the CLI's typed client and the dashboard).
 * No Node or DOM dependency: both bundle this module.
 */
import type { GraphQLFormattedError } from "graphql";

/** The server answered with GraphQL errors (the first one's message; code from `extensions.code`). */
export class GraphQLRequestError extends Error {
  override readonly name = "GraphQLRequestError";
  readonly code: string | undefined;
  constructor(readonly errors: readonly GraphQLFormattedError[], readonly operation: string) {
    super(errors[0]?.message ?? "unknown GraphQL error");
    const code = errors[0]?.extensions?.code;
    this.code = typeof code === "string" ? code : undefined;
  }
}

/** The server could not be reached or sent something that is not a GraphQL response. */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
}

/** What a graphql-ws subscription failed with (GraphQL errors, a closed socket, ...) as one of the errors above. */
export function subscriptionError(error: unknown, operation: string, url: string): Error {
  if (error instanceof Error) return error;
  if (Array.isArray(error)) return new GraphQLRequestError(error as GraphQLFormattedError[], operation);
  const close = error as { code?: number; reason?: string; message?: string };
  if (typeof close?.code === "number") {
    const hint = close.code === 4403 ? " (forbidden: pass the server's token)" : "";
    return new ConnectionError(`subscription socket ${url} closed: ${close.code} ${close.reason || close.message || ""}${hint}`.trimEnd());
  }
  const cause = close?.message ?? String(error);
  return new ConnectionError(`subscription socket ${url} failed: ${cause}`);
}
