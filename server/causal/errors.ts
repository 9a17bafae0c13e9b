/** Why a causal or comparison service refused or failed; callers branch on `code`, people read `message`. */
export type AnalysisServiceCode =
  | "NOT_FOUND" // unknown run, metric or neuron
  | "BAD_INPUT" // malformed arguments: fix the named field
  | "BAD_STATE" // the run has not produced what the service needs (no checkpoint, no scores)
  | "RUNNER"; // the worker job failed (its runner error code is in the message)

export class AnalysisServiceError extends Error {
  constructor(readonly code: AnalysisServiceCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AnalysisServiceError";
  }
}
