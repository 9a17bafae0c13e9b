import { getOperationAST, type DocumentNode, type GraphQLSchema } from "graphql";
import type { RequestAuth } from "./context.js";
import { unauthenticated } from "./errors.js";
import { assertWithinLimits, type Limits } from "./limits.js";

/**
 * Admits one parsed, validated operation before it runs, for every transport alike:
 * mutations need the bearer token; depth and complexity must be within `limits`.
 * Throws ApiError (UNAUTHENTICATED, LIMIT_EXCEEDED).
 */
export function admitOperation(options: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  auth: RequestAuth;
  limits: Limits;
}): void {
  const operation = getOperationAST(options.document, options.operationName);
  if (operation?.operation === "mutation" && !options.auth.canWrite) throw unauthenticated("a mutation");
  assertWithinLimits(options);
}
