import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parseCsv } from "./csv.js";
import { TaskFileError } from "./errors.js";
import { parseJsonl } from "./jsonl.js";
import { parseParquet } from "./parquet.js";
import { buildRows, type SourceRecord } from "./rows.js";
import { assignSplits, DEFAULT_SPLIT, type SplitOptions } from "./splits.js";
import { parseTemplate, TemplateError } from "./template.js";
import { DEFAULT_MAX_LINE_BYTES, decodeTextFile } from "./text.js";
import type { ParsedTaskRow, TaskRow } from "./types.js";
import type { Verbalizer } from "./verbalizer.js";

export interface ReadTaskOptions {
  /** Longest accepted line (JSONL, CSV) or text cell (Parquet), in bytes. Default 1 MiB. */
  readonly maxLineBytes?: number;
  /** When given, every label must be one of its keys. */
  readonly verbalizer?: Verbalizer;
  /** When given, every row must have every field it uses. */
  readonly template?: string;
  /** Seeded split for rows without `split`. Default { valFraction: 0.2, seed: 0 }. */
  readonly split?: SplitOptions;
}

const FORMATS: Record<string, "jsonl" | "csv" | "parquet"> = {
  ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet",
};

/**
 * Reads and validates a task file (format by extension: .jsonl/.ndjson, .csv, .parquet) and
 * assigns splits. All or nothing: any problem throws TaskFileError (file, line, field).
 */
export async function readTaskFile(path: string, options: ReadTaskOptions = {}): Promise<TaskRow[]> {
  const format = FORMATS[extname(path).toLowerCase()];
  if (format === undefined) {
    throw new TaskFileError(path, undefined, undefined,
      `unsupported extension "${extname(path)}": use .jsonl (or .ndjson), .csv or .parquet`);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new TaskFileError(path, undefined, undefined, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check the path`);
  }
  if (bytes.length === 0) throw new TaskFileError(path, undefined, undefined, "the file is empty: add rows");
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let records: SourceRecord[];
  if (format === "parquet") {
    records = await parseParquet(bytes, path, maxLineBytes);
  } else {
    const text = decodeTextFile(bytes, path, maxLineBytes);
    records = format === "jsonl" ? parseJsonl(text, path) : parseCsv(text, path);
  }
  return finishRows(buildRows(records, { file: path, textual: format === "csv" }), path, options);
}

/**
 * Validates rows given inline (e.g. by a GraphQL mutation) exactly as a JSONL file's rows;
 * `line` in errors and rows is the 1-based index in the array. `source` names them in errors.
 */
export function parseInlineRows(rows: readonly unknown[], options: ReadTaskOptions = {}, source = "<inline>"): TaskRow[] {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const records = rows.map((row, i): SourceRecord => {
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      throw new TaskFileError(source, i + 1, undefined, "row is not an object: give each row as {\"field\": value, ...}");
    }
    for (const [name, value] of Object.entries(row)) {
      if (typeof value === "string" && Buffer.byteLength(value) > maxLineBytes) {
        throw new TaskFileError(source, i + 1, name,
          `text is ${Buffer.byteLength(value)} bytes, over the ${maxLineBytes}-byte limit: shorten it or raise maxLineBytes`);
      }
    }
    return { line: i + 1, cells: row as Record<string, unknown> };
  });
  return finishRows(buildRows(records, { file: source, textual: false }), source, options);
}

function finishRows(parsed: ParsedTaskRow[], file: string, options: ReadTaskOptions): TaskRow[] {
  if (options.verbalizer !== undefined) checkVerbalizer(parsed, file, options.verbalizer);
  if (options.template !== undefined) checkTemplate(parsed, file, options.template);
  let rows: TaskRow[];
  try {
    rows = assignSplits(parsed, options.split ?? DEFAULT_SPLIT);
  } catch (err) {
    throw new TaskFileError(file, undefined, "split", `${(err as Error).message}: fix the split options`);
  }
  const nVal = rows.filter((r) => r.split === "val").length;
  const nTrain = rows.filter((r) => r.split === "train").length;
  if (nTrain === 0 || nVal === 0) {
    throw new TaskFileError(file, undefined, "split",
      `after splitting, train has ${nTrain} rows and val has ${nVal}: both need at least one; add rows, change the "split" column or valFraction`);
  }
  return rows;
}

function checkVerbalizer(rows: readonly ParsedTaskRow[], file: string, verbalizer: Verbalizer): void {
  for (const row of rows) {
    if (row.label !== undefined && !Object.hasOwn(verbalizer, String(row.label))) {
      throw new TaskFileError(file, row.line, "label",
        `label "${row.label}" is not in the verbalizer (it maps ${Object.keys(verbalizer).map((k) => `"${k}"`).join(", ")}): add it to the verbalizer or fix the row`);
    }
  }
}

function checkTemplate(rows: readonly ParsedTaskRow[], file: string, template: string): void {
  let fields: string[];
  try {
    fields = parseTemplate(template).flatMap((p) => ("field" in p ? [p.field] : []));
  } catch (err) {
    if (err instanceof TemplateError) throw new TaskFileError(file, undefined, err.field, `bad template: ${err.message}`);
    throw err;
  }
  for (const row of rows) {
    for (const field of fields) {
      if (field !== "id" && !Object.hasOwn(row.fields, field)) {
        throw new TaskFileError(file, row.line, field, `row has no "${field}", which the template uses: fill it in or change the template`);
      }
    }
  }
}
