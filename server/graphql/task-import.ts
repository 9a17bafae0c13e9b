import type { SampleRow } from "../store/records.js";
import type { Store } from "../store/store.js";
import { answerText, parseInlineRows, parseVerbalizer, readTaskFile, renderTemplate, type TaskRow, type Verbalizer } from "../tasks/index.js";
import { badInput } from "./errors.js";

export interface TaskImport {
  name: string;
  template: string;
  /** A file already checked to lie inside the task roots, or rows given inline. */
  source: { path: string } | { rows: unknown[] };
  verbalizer?: unknown;
  valFraction: number;
  seed: number;
}

/**
 * Reads and validates every row (all or nothing), renders the template, and stores the task with
 * its samples. Returns the task id. Bad rows throw the task module's typed errors.
 */
export async function importTask(store: Store, input: TaskImport): Promise<number> {
  if (!(input.valFraction > 0 && input.valFraction < 1)) throw badInput("valFraction", `must lie strictly between 0 and 1, got ${input.valFraction}`);
  const verbalizer: Verbalizer | undefined = input.verbalizer == null ? undefined : parseVerbalizer(input.verbalizer);
  const options = { verbalizer, template: input.template, split: { valFraction: input.valFraction, seed: input.seed } };
  const rows: TaskRow[] = "path" in input.source ? await readTaskFile(input.source.path, options) : parseInlineRows(input.source.rows, options);
  const samples: SampleRow[] = rows.map((row) => ({
    sampleId: row.id,
    split: row.split,
    fields: storedFields(row),
    rendered: renderTemplate(input.template, row),
    answer: answerText(row, verbalizer),
    label: row.label === undefined ? null : String(row.label),
  }));
  const task = { name: input.name, template: input.template, verbalizer: verbalizer ?? null };
  // a file is keyed by its real path: the same import twice returns the task already stored
  return "path" in input.source ? store.addTaskOnce({ ...task, source: input.source.path }, samples) : store.addTask({ ...task, source: "<inline>" }, samples);
}

/**
 * Fields as stored: text, except the task's numeric (and boolean, as 0/1) columns, which are
 * stored as numbers so the run manager offers them as metrics. Missing values are left out.
 */
function storedFields(row: TaskRow): Record<string, string | number> {
  const out: Record<string, string | number> = { ...row.fields };
  for (const [name, value] of Object.entries(row.columns)) {
    if (Number.isFinite(value)) out[name] = value;
    else delete out[name];
  }
  return out;
}
