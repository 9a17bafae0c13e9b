/** Stored samples, seen as the runner's rows and as the metrics library's rows. */
import type { SampleRow } from "../store/records.js";
import type { TaskRow as RunnerRow } from "../../gpu-runner/runner/protocol.js";
import type { ParsedTaskRow } from "../tasks/index.js";

export type MetricRow = Pick<ParsedTaskRow, "id" | "fields" | "answer" | "label" | "columns">;

export function toRunnerRow(s: SampleRow): RunnerRow {
  return { id: s.sampleId, instruction: s.rendered, answer: s.answer ?? "" };
}

/** Numbers in the stored fields are the task's numeric columns; labels that read as numbers are numeric. */
export function toMetricRow(s: SampleRow): MetricRow {
  const fields: Record<string, string> = {};
  const columns: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.fields)) {
    fields[k] = String(v);
    if (typeof v === "number") columns[k] = v;
  }
  const numeric = s.label !== null && s.label.trim() !== "" && Number.isFinite(Number(s.label));
  return { id: s.sampleId, fields, columns, answer: s.answer ?? undefined, label: s.label === null ? undefined : numeric ? Number(s.label) : s.label };
}
