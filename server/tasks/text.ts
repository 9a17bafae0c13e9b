import { TaskFileError } from "./errors.js";

/** Default longest line (JSONL, CSV) or text cell (Parquet) accepted: 1 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

const NEWLINE = 0x0a;

/**
 * Decodes a text file strictly as UTF-8 (a leading BOM is dropped) after checking that no
 * line is longer than `maxLineBytes`.
 * @throws TaskFileError naming the first overlong line, or the first line with invalid UTF-8.
 */
export function decodeTextFile(bytes: Uint8Array, file: string, maxLineBytes: number): string {
  let start = 0;
  let line = 1;
  for (;;) {
    const end = bytes.indexOf(NEWLINE, start);
    const stop = end < 0 ? bytes.length : end;
    if (stop - start > maxLineBytes) {
      throw new TaskFileError(file, line, undefined,
        `line is ${stop - start} bytes, over the ${maxLineBytes}-byte limit: shorten it or raise maxLineBytes`);
    }
    if (end < 0) break;
    start = end + 1;
    line++;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new TaskFileError(file, firstInvalidLine(bytes), undefined,
      "line is not valid UTF-8: re-encode the file as UTF-8");
  }
}

function firstInvalidLine(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  for (let line = 1; ; line++) {
    const end = bytes.indexOf(NEWLINE, start);
    const stop = end < 0 ? bytes.length : end;
    try {
      decoder.decode(bytes.subarray(start, stop));
    } catch {
      return line;
    }
    if (end < 0) return line;
    start = end + 1;
  }
}

/** Strict UTF-8 decoding of one value; undefined when the bytes are not valid UTF-8. */
export function decodeUtf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
