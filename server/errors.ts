/**
 * The server's one error convention. The libraries underneath keep their own typed errors (store:
 * StoreError, analysis: AnalysisError, tasks: TaskFileError and friends, metrics: MetricError);
 * every service above them (runs, causal, compare, significance) refuses with a ServiceError; and
 * graphql/error-mapping.ts alone turns each of those into an API code. One refusal, one code:
 * for example "this run kept only reservoirs" is BAD_STATE (CONFLICT) wherever it is asked.
 */
export type ServiceErrorCode =
  | "NOT_FOUND" // unknown run, metric or neuron
  | "BAD_INPUT" // malformed arguments: fix the named field
  | "BAD_STATE" // the run is not in a state (or kept no data) that allows this; nothing changed
  | "RUNNER"; // the worker job failed (its runner error code is in the message)

export class ServiceError extends Error {
  /** The argument at fault, for BAD_INPUT (e.g. "options.steps"). */
  readonly field?: string;

  constructor(readonly code: ServiceErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.name = "ServiceError";
    if (options?.field !== undefined) this.field = options.field;
  }
}
