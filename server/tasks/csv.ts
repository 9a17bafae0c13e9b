import { CsvError, parse } from "csv-parse/sync";
import { TaskFileError } from "./errors.js";
import type { SourceRecord } from "./rows.js";

/**
 * Parses CSV text with a header row (RFC 4180 quoting; CRLF read as LF). Every cell stays a
 * string; type inference happens per column in buildRows. `line` is the file line a record starts on.
 */
export function parseCsv(text: string, file: string): SourceRecord[] {
  let parsed: { record: Record<string, string>; raw: string; info: { lines: number } }[];
  try {
    // One newline convention, so csv-parse counts lines right (it miscounts with CRLF).
    parsed = parse(text.replace(/\r\n/g, "\n"), {
      columns: (header: string[]) => checkHeader(header, file),
      info: true,
      raw: true,
      skip_empty_lines: true,
      trim: false,
    }) as unknown as typeof parsed;
  } catch (err) {
    if (err instanceof TaskFileError) throw err;
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw new TaskFileError(file, typeof line === "number" ? line : undefined, undefined,
        `invalid CSV (${err.message}): check quoting and that every row has as many cells as the header`);
    }
    throw err;
  }
  return parsed.map(({ record, raw, info }) => ({ line: info.lines - newlinesInside(raw), cells: record }));
}

/** Newlines within a record's raw text: `info.lines` is its last line, so this finds its first. */
function newlinesInside(raw: string): number {
  const body = raw.replace(/^\n+/, "").replace(/\n$/, "");
  let n = 0;
  for (const ch of body) if (ch === "\n") n++;
  return n;
}

function checkHeader(header: string[], file: string): string[] {
  const names = header.map((h) => h.trim());
  names.forEach((name, i) => {
    if (name.length === 0) {
      throw new TaskFileError(file, 1, undefined, `header cell ${i + 1} is empty: name every column`);
    }
    if (names.indexOf(name) !== i) {
      throw new TaskFileError(file, 1, name, `column "${name}" appears twice in the header: rename one`);
    }
  });
  return names;
}
