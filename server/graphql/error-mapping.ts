import { GraphQLError, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import { CheckpointError, ConfigError } from "../../gpu-runner/hf/errors.js";
import { OutsideRootError } from "../../gpu-runner/hf/roots.js";
import { AnalysisError } from "../analysis/errors.js";
import { ServiceError, type ServiceErrorCode } from "../errors.js";
import { StoreError, type StoreErrorCode } from "../store/errors.js";
import { MetricError } from "../metrics/index.js";
import { TaskFileError, TemplateError, VerbalizerError } from "../tasks/index.js";
import { ApiError, type ErrorCode } from "./errors.js";

const STORE_CODES: Partial<Record<StoreErrorCode, ErrorCode>> = {
  NOT_FOUND: "NOT_FOUND",
  INVALID_INPUT: "BAD_USER_INPUT",
  INVALID_TRANSITION: "CONFLICT",
  READ_ONLY: "FORBIDDEN",
};

/** The services (runs, causal, compare, significance); RUNNER (the worker job failed) has no client-side fix. */
const SERVICE_CODES: Record<ServiceErrorCode, ErrorCode | null> = {
  NOT_FOUND: "NOT_FOUND",
  BAD_INPUT: "BAD_USER_INPUT",
  BAD_STATE: "CONFLICT",
  RUNNER: null,
};

/**
 * Makes every field resolver of `schema` turn the service layer's typed errors into API errors with
 * a client-facing code; anything else passes through (and reaches the client as
 * INTERNAL_SERVER_ERROR). A resolver that answers synchronously still does (a type-graphql global
 * middleware would make every scalar field a promise: measured as a large share of a page's cost).
 */
export function mapServiceErrors(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.resolve) field.resolve = withErrorMapping(field.resolve);
    }
  }
  return schema;
}

function withErrorMapping<S, C>(resolve: GraphQLFieldResolver<S, C>): GraphQLFieldResolver<S, C> {
  return (source, args, context, info) => {
    let result: unknown;
    try {
      result = resolve(source, args, context, info);
    } catch (error) {
      throw toApiError(error);
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then !== "function") return result;
    return Promise.resolve(result).catch((error: unknown) => {
      throw toApiError(error);
    });
  };
}

function toApiError(error: unknown): unknown {
  if (error instanceof StoreError) {
    const code = STORE_CODES[error.code];
    return code ? new ApiError(code, error.message, { reason: error.code }) : error;
  }
  if (error instanceof ServiceError) {
    const code = SERVICE_CODES[error.code];
    const details = error.field === undefined ? { reason: error.code } : { reason: error.code, field: error.field };
    // A failed job keeps its message (it names the runner's error code) under the server-error code.
    return code ? new ApiError(code, error.message, details) : new GraphQLError(error.message, { extensions: { code: "INTERNAL_SERVER_ERROR", reason: error.code } });
  }
  if (error instanceof AnalysisError) return new ApiError("BAD_USER_INPUT", error.message, { reason: error.code });
  if (error instanceof TaskFileError) return new ApiError("BAD_USER_INPUT", error.message, { file: error.file, line: error.line, field: error.field });
  if (error instanceof MetricError) return new ApiError("BAD_USER_INPUT", error.metric ? `metric "${error.metric}": ${error.message}` : error.message);
  if (error instanceof TemplateError || error instanceof VerbalizerError) return new ApiError("BAD_USER_INPUT", error.message);
  if (error instanceof OutsideRootError) return new ApiError("FORBIDDEN", error.message, { file: error.file });
  if (error instanceof ConfigError || error instanceof CheckpointError) return new ApiError("BAD_USER_INPUT", error.message, { file: error.file });
  return error;
}
