/**
 * A task file (or inline row list) that cannot be used. `file` is the path (or "<inline>"),
 * `line` the 1-based line of a JSONL/CSV file or the 1-based row of a Parquet file / inline
 * array, `field` the column at fault. The message says what to change.
 */
export class TaskFileError extends Error {
  override readonly name = "TaskFileError";
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    detail: string,
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}${field === undefined ? "" : ` (field "${field}")`}: ${detail}`);
  }
}
