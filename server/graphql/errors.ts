import { GraphQLError } from "graphql";

/** The `extensions.code` values clients can branch on. */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "LIMIT_EXCEEDED"
  | "CONFLICT"
  | "BAD_REQUEST";

/** HTTP status for an error that refuses a whole request before anything runs. */
const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  LIMIT_EXCEEDED: 400,
  CONFLICT: 409,
  BAD_REQUEST: 400,
};

/**
 * A GraphQL error with a stable `extensions.code` and a message that says what to do.
 * `details` lands in `extensions` beside the code (e.g. `{ field: "first", max: 1000 }`).
 */
export class ApiError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message, { extensions: { ...details, code } });
    this.name = "ApiError";
    this.code = code;
  }
}

/** Copy of `error` that Apollo answers with the code's HTTP status (its `extensions.http`). */
export function withHttpStatus(error: ApiError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: HTTP_STATUS[error.code] } } });
}

export function unauthenticated(what: string): ApiError {
  return new ApiError(
    "UNAUTHENTICATED",
    `${what} needs a bearer token: send "Authorization: Bearer <token>" (over WebSocket: connectionParams ` +
      `{ "authorization": "Bearer <token>" }); the token is in <dataDir>/token.`,
  );
}

export function badInput(field: string, message: string): ApiError {
  return new ApiError("BAD_USER_INPUT", `${field}: ${message}`, { field });
}

export function limitExceeded(what: string, actual: number, max: number, hint: string): ApiError {
  return new ApiError("LIMIT_EXCEEDED", `${what} is ${actual}, above the limit of ${max}; ${hint}.`, { actual, max });
}
