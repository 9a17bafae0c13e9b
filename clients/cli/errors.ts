/** CLI failures: one clear line on stderr and exit code 1; the stack only with --verbose. */
import { ConnectionError, GraphQLRequestError } from "../client/errors.js";

/** A user error the CLI reports as-is (bad flag value, unreadable file, failed run). */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** The single line to print for an error. */
export function errorLine(error: unknown): string {
  if (error instanceof GraphQLRequestError) {
    const code = error.code && error.code !== "INTERNAL_SERVER_ERROR" ? ` [${error.code}]` : "";
    return firstLine(error.message) + code;
  }
  if (error instanceof CliError || error instanceof ConnectionError) return firstLine(error.message);
  const e = error as { code?: unknown; message?: unknown };
  if (e?.code === "LOCKED") return `${firstLine(String(e.message))}; while \`skillscope serve\` holds it, pass --server URL`;
  return firstLine(error instanceof Error ? error.message : String(error));
}

/** Prints the error (stack and causes with `verbose`) and sets exit code 1. */
export function reportError(command: string, error: unknown, verbose: boolean): void {
  process.stderr.write(`skillscope ${command}: ${errorLine(error)}\n`);
  if (verbose) {
    for (let e: unknown = error; e instanceof Error; e = e.cause) process.stderr.write(`${e.stack ?? e.message}\n`);
  }
  process.exitCode = 1;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}
