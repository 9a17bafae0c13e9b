/**
 * A verbalizer maps label values (as strings) to answer text, e.g. `{ "0": "negative", "1": "positive" }`.
 * Its key order (`Object.keys`) is the class order: JavaScript lists integer-like keys first, ascending,
 * then the other keys in insertion order.
 */
export type Verbalizer = Readonly<Record<string, string>>;

export class VerbalizerError extends Error {
  override readonly name = "VerbalizerError";
  constructor(readonly label: string | undefined, detail: string) {
    super(detail);
  }
}

/** Checks a JSON value is a usable verbalizer: an object of non-empty, distinct strings. */
export function parseVerbalizer(value: unknown): Verbalizer {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new VerbalizerError(undefined, `verbalizer must be a JSON object mapping labels to answer text, like {"0": "negative", "1": "positive"}`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new VerbalizerError(undefined, "verbalizer is empty: map every label to its answer text");
  const seen = new Map<string, string>();
  for (const [label, text] of entries) {
    if (typeof text !== "string" || text.length === 0) {
      throw new VerbalizerError(label, `verbalizer entry "${label}" must be a non-empty string, got ${JSON.stringify(text)}`);
    }
    const other = seen.get(text);
    if (other !== undefined) {
      throw new VerbalizerError(label,
        `verbalizer maps both "${other}" and "${label}" to "${text}": predictions could not tell them apart; give each label its own text`);
    }
    seen.set(text, label);
  }
  return Object.freeze(Object.fromEntries(entries)) as Verbalizer;
}

/** The class order of a verbalizer. */
export function verbalizerClasses(verbalizer: Verbalizer): string[] {
  return Object.keys(verbalizer);
}

/**
 * The target text of a row: its explicit `answer`, else the verbalized label.
 * @throws VerbalizerError when neither gives a text.
 */
export function answerText(
  row: { readonly id?: string; readonly answer?: string; readonly label?: string | number },
  verbalizer?: Verbalizer,
): string {
  if (row.answer !== undefined) return row.answer;
  const where = row.id === undefined ? "row" : `row "${row.id}"`;
  if (row.label === undefined) throw new VerbalizerError(undefined, `${where} has neither an answer nor a label`);
  const key = String(row.label);
  if (verbalizer === undefined) {
    throw new VerbalizerError(key, `${where} has label "${key}" and no answer: give a verbalizer mapping labels to answer text`);
  }
  if (!Object.hasOwn(verbalizer, key)) {
    throw new VerbalizerError(key, `${where} has label "${key}", which the verbalizer does not map (it maps ${Object.keys(verbalizer).map((k) => `"${k}"`).join(", ")}); add it`);
  }
  return verbalizer[key]!;
}
