/** Machine-readable reasons a run stops; they travel in the protocol's `error` message. */
export type RunnerErrorCode =
  | "BAD_INPUT" // malformed rows, layout or config: fix the named field and start again
  | "BAD_CHECKPOINT" // resume checkpoint does not match the model / prompt shape
  | "NON_FINITE" // loss or gradient became NaN/Inf
  | "MODEL_UNAVAILABLE" // the model kind cannot be opened in this runner
  | "FORBIDDEN" // a file of the model resolves outside the roots it may be read from
  | "CANCELLED"
  | "WORKER_EXITED" // the worker thread died without reporting
  | "INTERNAL";

/** A typed error whose message says which field or file is wrong and what to do. */
export class RunnerError extends Error {
  readonly code: RunnerErrorCode;
  constructor(code: RunnerErrorCode, message: string) {
    super(message);
    this.name = "RunnerError";
    this.code = code;
  }
}

export function badInput(message: string): RunnerError {
  return new RunnerError("BAD_INPUT", message);
}

/** `e` as a RunnerError: a RunnerError stays itself; anything else is INTERNAL with its message and stack. */
export function toRunnerError(e: unknown): RunnerError {
  return e instanceof RunnerError ? e : new RunnerError("INTERNAL", e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e));
}
