/** Typed error for bad input to the analysis engine; the message names the argument and what to do. */
export class AnalysisError extends Error {
  /** Stable machine-readable reason, e.g. "SHAPE_MISMATCH", "NON_FINITE". */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "AnalysisError";
    this.code = code;
  }
}

/** Throws SHAPE_MISMATCH unless `actual === expected`. */
export function expectLength(what: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new AnalysisError("SHAPE_MISMATCH", `${what} has length ${actual}, expected ${expected}: check the shape you pass`);
  }
}

/** Throws BAD_ARGUMENT unless `value` is an integer in [min, max]. */
export function expectInt(what: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AnalysisError("BAD_ARGUMENT", `${what} must be an integer in [${min}, ${max}], got ${value}`);
  }
}
