import { parquetReadObjects } from "hyparquet";
import { TaskFileError } from "./errors.js";
import type { SourceRecord } from "./rows.js";
import { decodeUtf8OrUndefined } from "./text.js";

/** Marks a byte-array cell whose bytes are not UTF-8, so the row and column can be named. */
class InvalidUtf8 {}
const INVALID_UTF8 = new InvalidUtf8();

/**
 * Reads every row of a Parquet file (flat columns). `line` is the 1-based row number.
 * Strings are decoded strictly as UTF-8; a text cell longer than `maxCellBytes` is rejected.
 */
export async function parseParquet(bytes: Uint8Array, file: string, maxCellBytes: number): Promise<SourceRecord[]> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({
      file: buffer,
      parsers: {
        stringFromBytes: (b: Uint8Array) => (b.length > maxCellBytes ? b : (decodeUtf8OrUndefined(b) ?? INVALID_UTF8)),
      },
    });
  } catch (err) {
    throw new TaskFileError(file, undefined, undefined, `not a readable Parquet file (${(err as Error).message}): check the file is complete`);
  }
  return rows.map((cells, i) => {
    for (const [name, value] of Object.entries(cells)) {
      if (value === INVALID_UTF8) {
        throw new TaskFileError(file, i + 1, name, "text is not valid UTF-8: re-encode this column as UTF-8");
      }
      if (value instanceof Uint8Array && value.length > maxCellBytes) {
        throw new TaskFileError(file, i + 1, name,
          `text is ${value.length} bytes, over the ${maxCellBytes}-byte limit: shorten it or raise maxLineBytes`);
      }
    }
    return { line: i + 1, cells };
  });
}
