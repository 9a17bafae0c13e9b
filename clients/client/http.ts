/**
 * One GraphQL request over HTTP POST: the transport the typed client and the dashboard share.
 * Uses only `fetch`, so it runs in Node and in the browser.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { getOperationAST, print, type DocumentNode, type GraphQLFormattedError } from "graphql";
import { ConnectionError, GraphQLRequestError } from "./errors.js";

export interface PostOptions {
  /** `Bearer <token>`; needed for mutations. */
  readonly authorization?: string;
  /** Aborting closes the request (the server then cancels a job the request started). */
  readonly signal?: AbortSignal;
}

/** Sends `document` to `endpoint`; throws GraphQLRequestError on GraphQL errors, ConnectionError on anything else. */
export async function postGraphQL<R, V>(endpoint: string, document: TypedDocumentNode<R, V>, variables: V | undefined, options: PostOptions = {}): Promise<R> {
  const operation = operationName(document);
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...(options.authorization ? { authorization: options.authorization } : {}) },
      body: JSON.stringify({ query: print(document), variables: variables ?? {}, operationName: operation }),
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new ConnectionError(`cannot reach ${endpoint} (${cause}); is \`skillscope serve\` running there?`);
  }
  const text = await response.text();
  let body: { data?: R | null; errors?: GraphQLFormattedError[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new ConnectionError(`${endpoint} answered HTTP ${response.status} with something that is not GraphQL JSON: ${text.slice(0, 120)}`);
  }
  if (body.errors && body.errors.length > 0) throw new GraphQLRequestError(body.errors, operation);
  if (body.data == null) throw new ConnectionError(`${endpoint} answered HTTP ${response.status} without data`);
  return body.data;
}

/** The operation's name ("anonymous" when it has none), as errors and requests name it. */
export function operationName(document: DocumentNode): string {
  return getOperationAST(document)?.name?.value ?? "anonymous";
}
