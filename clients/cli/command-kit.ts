/** Shared pieces of the CLI's commands: connection flags, number parsers, examples, the error wrapper. */
import { Command, InvalidArgumentError } from "commander";
import { neuronId, parseNeuronId } from "../../gpu-runner/neuron-id.js";
import { DEFAULT_DATA_DIR, type ConnectionOptions } from "./connect.js";
import { reportError } from "./errors.js";

/** Adds --server, --token, --data-dir and --db (the transport choice, see connect.ts). */
export function connectionOptions(command: Command): Command {
  return command
    .option("--server <url>", "talk to a running `skillscope serve` at this URL instead of opening the database")
    .option("--token <token>", "bearer token for --server (default: $SKILLSCOPE_TOKEN, else <data-dir>/token)")
    .option("--data-dir <dir>", "data directory (token, exports, default database)", DEFAULT_DATA_DIR)
    .option("--db <file>", "DuckDB file of embedded mode (default: <data-dir>/skillscope.duckdb)");
}

/** Adds an "Example:" section to --help. */
export function examples(command: Command, ...lines: string[]): Command {
  return command.addHelpText("after", `\nExample${lines.length > 1 ? "s" : ""}:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`);
}

/**
 * Wraps a command's body: errors become one line on stderr and exit code 1 (stack with --verbose).
 * The body gets the command's options (global ones merged in).
 */
export function action<O>(body: (options: O & { verbose?: boolean }, command: Command) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const options = command.optsWithGlobals() as O & { verbose?: boolean };
    try {
      await body(options, command);
    } catch (error) {
      reportError(commandPath(command), error, options.verbose === true);
    }
  };
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** commander parser: an integer >= min. */
export function int(min: number): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (value.trim() === "" || !Number.isInteger(v) || v < min) throw new InvalidArgumentError(`expected an integer >= ${min}.`);
    return v;
  };
}

/** commander parser: a finite number > 0. */
export function positive(value: string): number {
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v) || v <= 0) throw new InvalidArgumentError("expected a number > 0.");
  return v;
}

/** commander parser: comma-separated integers >= 0 (e.g. layers "0,1"). */
export function intList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((s) => s === "") || out.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new InvalidArgumentError("expected comma-separated integers >= 0, e.g. 0,1.");
  }
  return out;
}

/**
 * commander parser: comma-separated neuron ids, each `L{layer}.N{index}` (neuron-id.ts's grammar) or a
 * range `L{layer}.N{from}-{to}` (inclusive), e.g. "L5.N12,L1.N0-3071" (all of layer 1 at d_ff 3072).
 */
export function neuronList(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(",")) {
    const [id = "", end, ...rest] = part.split("-");
    const first = parseNeuronId(id);
    const last = end === undefined ? first?.index : /^\s*\d+\s*$/.test(end) ? Number(end) : undefined;
    if (!first || last === undefined || last < first.index || rest.length > 0) {
      throw new InvalidArgumentError(`"${part.trim()}" is neither a neuron id nor a range; write L3.N17 or L3.N0-1023, comma-separated.`);
    }
    for (let i = first.index; i <= last; i++) out.push(neuronId(first.layer, i));
  }
  return out;
}

/** commander parser for repeatable options: collects every value. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** commander parser: one of the given words. */
export function oneOf<T extends string>(...choices: T[]): (value: string) => T {
  return (value) => {
    if (!(choices as string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(", ")}.`);
    return value as T;
  };
}

/** Writes a JSON value on one line of stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export type { ConnectionOptions };
