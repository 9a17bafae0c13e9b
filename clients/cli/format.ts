/** Plain-text tables and numbers for the CLI's human output. */
import { NEURON_ID_HINT, parseNeuronId as parseId } from "../../gpu-runner/neuron-id.js";
import { CliError } from "./errors.js";

/** Left-aligned columns separated by two spaces; numbers are right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const cells = rows.map((row) => row.map((c) => (c === null || c === undefined ? "-" : String(c))));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || r[i] === undefined || typeof r[i] === "number" || /^[-+]?[\d.e+-]+$/.test(String(r[i]))));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (row: readonly string[]) =>
    row.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...cells.map(line)].join("\n") + "\n";
}

/** r with sign and 4 decimals. */
export function fmtR(r: number | null | undefined): string {
  return r === null || r === undefined ? "-" : (r >= 0 ? "+" : "") + r.toFixed(4);
}

/** p-values: 3 significant digits, scientific below 1e-3. */
export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined) return "-";
  return p < 1e-3 ? p.toExponential(2) : p.toPrecision(3);
}

/** One line of at most `max` characters (newlines shown as ⏎). */
export function clip(text: string | null | undefined, max: number): string {
  if (!text) return "-";
  const flat = text.replace(/\s*\n\s*/g, " ⏎ ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `L3.N17` -> { layer: 3, index: 17 }, as the field writes neuron ids. */
export function parseNeuronId(id: string): { layer: number; index: number } {
  const parsed = parseId(id);
  if (!parsed) throw new CliError(`--id "${id}" is not a neuron id; ${NEURON_ID_HINT}`);
  return parsed;
}
