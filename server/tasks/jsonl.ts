import { locateJsonError } from "../../gpu-runner/hf/json-text.js";
import { TaskFileError } from "./errors.js";
import type { SourceRecord } from "./rows.js";

/** Parses JSON Lines text: one JSON object per non-blank line (blank lines are skipped). */
export function parseJsonl(text: string, file: string): SourceRecord[] {
  const records: SourceRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim().length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      const at = locateJsonError(raw);
      const where = at ? ` at column ${at.column}: expected ${at.expected}` : "";
      throw new TaskFileError(file, i + 1, undefined, `invalid JSON${where}; each line must hold one JSON object`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TaskFileError(file, i + 1, undefined,
        `line holds ${Array.isArray(value) ? "an array" : JSON.stringify(value)}, not a JSON object: write one object per line, like {"id": 1, "text": "...", "label": 0}`);
    }
    records.push({ line: i + 1, cells: value as Record<string, unknown> });
  }
  return records;
}
