import { TaskFileError } from "./errors.js";
import { RESERVED_FIELDS, type ParsedTaskRow, type Split } from "./types.js";

/** One source record: its 1-based line/row number and its cells by column name. */
export interface SourceRecord {
  readonly line: number;
  readonly cells: Readonly<Record<string, unknown>>;
}

/**
 * How to read cells. `textual` sources (CSV) give every cell as a string: empty means missing,
 * and a column is numeric / boolean when all its non-empty cells parse as such.
 */
export interface SourceInfo {
  readonly file: string;
  readonly textual: boolean;
}

type Cell = string | number | boolean;

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const RESERVED: ReadonlySet<string> = new Set(RESERVED_FIELDS);

const SPLITS: readonly string[] = ["train", "dev", "val"] satisfies Split[];

/**
 * Validates records and turns them into rows: id (given or the line number), answer and/or
 * label, split, input fields as text, numeric/boolean columns as metric columns.
 * @throws TaskFileError at the first bad cell, duplicate id or empty input.
 */
export function buildRows(records: readonly SourceRecord[], source: SourceInfo): ParsedTaskRow[] {
  if (records.length === 0) throw new TaskFileError(source.file, undefined, undefined, "the task has no rows: add at least one row per split");
  const cellsOf = records.map((r) => checkCells(r, source.file));
  const kinds = columnKinds(cellsOf, source.textual);
  const metricNames = [...kinds].filter(([name, k]) => k !== "text" && !RESERVED.has(name)).map(([name]) => name);
  const seen = new Map<string, number>();
  return records.map((record, i) => {
    const cells = cellsOf[i]!;
    const at = (field: string, detail: string) => new TaskFileError(source.file, record.line, field, detail);
    const id = readId(cells.get("id"), record.line, at);
    const previous = seen.get(id);
    if (previous !== undefined) throw at("id", `id "${id}" already appears on line ${previous}: ids must be unique`);
    seen.set(id, record.line);
    const answer = cells.get("answer");
    const label = readLabel(cells.get("label"), kinds.get("label"), at);
    if (answer === undefined && label === undefined) {
      throw at("answer", `row has neither "answer" nor "label": give the target text in "answer" or a class in "label"`);
    }
    const split = readSplit(cells.get("split"), at);
    const fields: Record<string, string> = {};
    for (const [name, value] of cells) if (!RESERVED.has(name)) fields[name] = String(value);
    const columns: Record<string, number> = {};
    for (const name of metricNames) columns[name] = toMetric(cells.get(name), source.textual);
    return {
      id, line: record.line, fields, columns,
      ...(answer === undefined ? {} : { answer: String(answer) }),
      ...(label === undefined ? {} : { label }),
      ...(split === undefined ? {} : { split }),
    };
  });
}

/** Drops missing cells (null, NaN, "" in text sources) and rejects values a row cannot hold. */
function checkCells(record: SourceRecord, file: string): Map<string, Cell> {
  const out = new Map<string, Cell>();
  for (const [name, raw] of Object.entries(record.cells)) {
    const at = (detail: string) => new TaskFileError(file, record.line, name, detail);
    if (raw === null || raw === undefined || raw === "" || (typeof raw === "number" && Number.isNaN(raw))) continue;
    if (typeof raw === "string" || typeof raw === "boolean") { out.set(name, raw); continue; }
    if (typeof raw === "number") {
      if (!Number.isFinite(raw)) throw at(`value ${raw} is not finite: use a finite number or leave the cell empty`);
      out.set(name, raw);
      continue;
    }
    if (typeof raw === "bigint") {
      if (raw > BigInt(Number.MAX_SAFE_INTEGER) || raw < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw at(`integer ${raw} is beyond 2^53 and would lose precision: store it as a string`);
      }
      out.set(name, Number(raw));
      continue;
    }
    const what = Array.isArray(raw) ? "a list" : raw instanceof Date ? "a date" : raw instanceof Uint8Array ? "binary data" : typeof raw === "object" ? "an object" : `a ${typeof raw}`;
    throw at(`value is ${what}; task cells must be strings, numbers or booleans: flatten or stringify this column`);
  }
  return out;
}

type ColumnKind = "number" | "boolean" | "text";

/** A column is numeric (boolean) when every present cell is, or parses as, a number (boolean). */
function columnKinds(rows: readonly Map<string, Cell>[], textual: boolean): Map<string, ColumnKind> {
  const kinds = new Map<string, ColumnKind>();
  for (const cells of rows) {
    for (const [name, value] of cells) {
      const kind = cellKind(value, textual);
      const before = kinds.get(name);
      kinds.set(name, before === undefined || before === kind ? kind : "text");
    }
  }
  return kinds;
}

function cellKind(value: Cell, textual: boolean): ColumnKind {
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "boolean";
  if (!textual) return "text";
  const t = value.trim();
  if (NUMBER_TEXT.test(t)) return "number";
  const lower = t.toLowerCase();
  return lower === "true" || lower === "false" ? "boolean" : "text";
}

function toMetric(value: Cell | undefined, textual: boolean): number {
  if (value === undefined) return Number.NaN;
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  const t = value.trim();
  if (textual && t.toLowerCase() === "true") return 1;
  if (textual && t.toLowerCase() === "false") return 0;
  return Number(t);
}

type At = (field: string, detail: string) => TaskFileError;

function readId(value: Cell | undefined, line: number, at: At): string {
  if (value === undefined) return String(line);
  if (typeof value === "number" && !Number.isInteger(value)) throw at("id", `id ${value} is not an integer: use integers or strings as ids`);
  if (typeof value === "boolean") throw at("id", `id is a boolean: use integers or strings as ids`);
  const id = String(value).trim();
  if (id.length === 0) throw at("id", "id is blank: give every row a non-blank id or drop the id column");
  return id;
}

/** Numbers stay numbers (also numeric CSV columns); booleans become "true" / "false". */
function readLabel(value: Cell | undefined, kind: ColumnKind | undefined, at: At): string | number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return String(value);
  if (kind === "number") return Number(value.trim());
  if (kind === "boolean") return value.trim().toLowerCase();
  const label = value.trim();
  if (label.length === 0) throw at("label", "label is blank: leave the cell empty or give a class");
  return label;
}

function readSplit(value: Cell | undefined, at: At): Split | undefined {
  if (value === undefined) return undefined;
  const split = String(value).trim();
  if (!SPLITS.includes(split)) {
    throw at("split", `split is "${split}"; it must be "train", "dev" or "val" (or empty to let the seeded split decide)`);
  }
  return split as Split;
}
