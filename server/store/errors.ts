/** Why a store call failed; callers branch on `code`, people read `message`. */
export type StoreErrorCode =
  | "READ_ONLY" // the store was opened read-only, or is an attached export
  | "LOCKED" // another process holds the database file
  | "DISK_FULL"
  | "NOT_FOUND" // unknown run / model / task / file
  | "INVALID_INPUT" // malformed arguments; nothing was written
  | "INVALID_TRANSITION" // run status change not allowed
  | "CORRUPT" // stored rows contradict the store's invariants
  | "SCHEMA" // database written by a newer skillscope, or a migration failed
  | "CLOSED"
  | "DUCKDB"; // any other engine error (message kept)

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** Maps an engine error to a StoreError with a message that says what to do; StoreErrors pass through. */
export function toStoreError(err: unknown, context: string): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/read-only|read only|Permission denied|EROFS|EACCES/i.test(msg)) {
    return new StoreError("READ_ONLY", `${context}: the store is read-only (${firstLine(msg)})`, { cause: err });
  }
  if (/Could not set lock|Conflicting lock/i.test(msg)) {
    return new StoreError(
      "LOCKED",
      `${context}: the database file is in use by another process; stop it or point this one at another file (${firstLine(msg)})`,
      { cause: err },
    );
  }
  if (/No space left on device|disk is full|ENOSPC/i.test(msg)) {
    return new StoreError("DISK_FULL", `${context}: disk full; free space and retry (${firstLine(msg)})`, { cause: err });
  }
  return new StoreError("DUCKDB", `${context}: ${firstLine(msg)}`, { cause: err });
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}
