/**
 * Instruction templates: `{field}` is replaced by the row's input field, `{{` and `}}` write
 * literal braces. A template must not name `answer` or `label`: those are the training target.
 */

export class TemplateError extends Error {
  override readonly name = "TemplateError";
  constructor(
    readonly template: string,
    /** The placeholder at fault, when there is one. */
    readonly field: string | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

type Piece = { readonly text: string } | { readonly field: string };

const TARGET_FIELDS = new Set(["answer", "label"]);

/** Splits a template into literal text and placeholders; throws TemplateError on bad syntax. */
export function parseTemplate(template: string): Piece[] {
  const pieces: Piece[] = [];
  let text = "";
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    const next = template[i + 1];
    if (ch === "{" && next === "{") { text += "{"; i++; continue; }
    if (ch === "}" && next === "}") { text += "}"; i++; continue; }
    if (ch === "}") {
      throw new TemplateError(template, undefined,
        `template has an unmatched "}" at character ${i + 1}: write "}}" for a literal brace`);
    }
    if (ch !== "{") { text += ch; continue; }
    const close = template.indexOf("}", i + 1);
    const open = template.indexOf("{", i + 1);
    if (close < 0 || (open >= 0 && open < close)) {
      throw new TemplateError(template, undefined,
        `template has an unclosed "{" at character ${i + 1}: close the placeholder or write "{{" for a literal brace`);
    }
    const field = template.slice(i + 1, close);
    if (field.length === 0) {
      throw new TemplateError(template, "", `template has an empty placeholder "{}" at character ${i + 1}: name a field inside the braces`);
    }
    if (TARGET_FIELDS.has(field)) {
      throw new TemplateError(template, field,
        `template uses "{${field}}", the training target: the model must not see it in the instruction; remove it`);
    }
    if (text) pieces.push({ text });
    text = "";
    pieces.push({ field });
    i = close;
  }
  if (text) pieces.push({ text });
  return pieces;
}

/** The distinct field names a template uses, in first-use order. */
export function templateFields(template: string): string[] {
  const names: string[] = [];
  for (const p of parseTemplate(template)) if ("field" in p && !names.includes(p.field)) names.push(p.field);
  return names;
}

/**
 * Renders `template` with `row.fields` (and `row.id` as `{id}`).
 * @throws TemplateError naming the first placeholder the row does not have.
 */
export function renderTemplate(
  template: string,
  row: { readonly id?: string; readonly fields: Readonly<Record<string, string>> },
): string {
  let out = "";
  for (const p of parseTemplate(template)) {
    if ("text" in p) { out += p.text; continue; }
    const value = p.field === "id" ? row.id : Object.hasOwn(row.fields, p.field) ? row.fields[p.field] : undefined;
    if (value === undefined) {
      const known = [...(row.id === undefined ? [] : ["id"]), ...Object.keys(row.fields)].join(", ");
      throw new TemplateError(template, p.field,
        `template field "{${p.field}}" is not in the row (fields: ${known || "none"}); fix the template or the task file`);
    }
    out += value;
  }
  return out;
}
