import type { Verbalizer } from "../tasks/verbalizer.js";

type Labelled = { readonly label?: string | number };

/**
 * The class order of a task: the verbalizer's keys when given, else the distinct labels
 * (as strings) sorted numerically when all are numbers, else lexicographically.
 */
export function labelClasses(rows: readonly Labelled[], verbalizer?: Verbalizer): string[] {
  if (verbalizer !== undefined) return Object.keys(verbalizer);
  const labels = rows.flatMap((r) => (r.label === undefined ? [] : [r.label]));
  const distinct = [...new Set(labels.map(String))];
  return labels.every((l) => typeof l === "number")
    ? distinct.sort((x, y) => Number(x) - Number(y))
    : distinct.sort();
}

/**
 * The `label` metric: numeric labels as they are; otherwise the class index in `classes`.
 * NaN for rows without a label (or, for string labels, outside `classes`).
 */
export function labelMetric(rows: readonly Labelled[], classes: readonly string[]): Float64Array {
  const numeric = rows.every((r) => r.label === undefined || typeof r.label === "number");
  const index = new Map(classes.map((c, i) => [c, i]));
  return Float64Array.from(rows, (r) => {
    if (r.label === undefined) return Number.NaN;
    if (numeric) return r.label as number;
    return index.get(String(r.label)) ?? Number.NaN;
  });
}

/** One-vs-rest indicator `label=<cls>`: 1 where the label is `cls`, 0 elsewhere, NaN without a label. */
export function oneVsRest(rows: readonly Labelled[], cls: string): Float64Array {
  return Float64Array.from(rows, (r) => (r.label === undefined ? Number.NaN : String(r.label) === cls ? 1 : 0));
}
