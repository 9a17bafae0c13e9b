/**
 * (sample id, value) pairs for `metric add`, from CSV (header `sample_id,value`; `id` or
 * `sampleId` also name the id column) or JSON (`[{"sampleId": "s1", "value": 0.5}, ...]` or
 * `{"s1": 0.5, ...}`). Booleans count as 1/0; an empty CSV value leaves the sample out.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { CsvError, parse } from "csv-parse/sync";
import { CliError } from "./errors.js";

export interface SamplePair {
  sampleId: string;
  value: number;
}

const ID_COLUMNS = ["sample_id", "sampleId", "id"];

export function readPairsFile(file: string): SamplePair[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(`--file ${file}: cannot read it (${(error as Error).message})`);
  }
  const ext = extname(file).toLowerCase();
  const pairs = ext === ".json" ? fromJson(file, text) : ext === ".csv" ? fromCsv(file, text) : undefined;
  if (!pairs) throw new CliError(`--file ${file}: expected a .csv or .json file of (sample id, value) pairs`);
  if (pairs.length === 0) throw new CliError(`--file ${file}: holds no pairs; give one value per validation sample id`);
  return pairs;
}

function fromCsv(file: string, text: string): SamplePair[] {
  let records: Record<string, string>[];
  try {
    records = parse(text.replace(/\r\n?/g, "\n"), { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (error) {
    throw new CliError(`--file ${file}: not valid CSV (${(error as CsvError).message})`);
  }
  const columns = records.length > 0 ? Object.keys(records[0]!) : [];
  const idColumn = ID_COLUMNS.find((c) => columns.includes(c));
  if (!idColumn || !columns.includes("value")) {
    throw new CliError(`--file ${file}: the header must name a sample id column (${ID_COLUMNS.join(" or ")}) and a "value" column; found ${columns.join(",") || "nothing"}`);
  }
  const pairs: SamplePair[] = [];
  records.forEach((r, i) => {
    const raw = r.value ?? "";
    if (raw === "") return;
    pairs.push({ sampleId: sampleId(file, r[idColumn], `line ${i + 2}`), value: number(file, raw, `line ${i + 2}`) });
  });
  return pairs;
}

function fromJson(file: string, text: string): SamplePair[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`--file ${file}: not valid JSON (${(error as Error).message})`);
  }
  if (Array.isArray(json)) {
    return json.map((item: unknown, i) => {
      const o = item as Record<string, unknown> | null;
      const key = o && typeof o === "object" ? ID_COLUMNS.find((c) => c in o) : undefined;
      if (!o || !key || !("value" in o)) throw new CliError(`--file ${file}: item ${i} must be {"sampleId": "...", "value": number}`);
      return { sampleId: sampleId(file, o[key], `item ${i}`), value: number(file, o.value, `item ${i}`) };
    });
  }
  if (json && typeof json === "object") {
    return Object.entries(json).map(([id, value]) => ({ sampleId: id, value: number(file, value, `key "${id}"`) }));
  }
  throw new CliError(`--file ${file}: expected an array of {"sampleId", "value"} or an object {sampleId: value}`);
}

function sampleId(file: string, value: unknown, where: string): string {
  if ((typeof value !== "string" && typeof value !== "number") || String(value).trim() === "") {
    throw new CliError(`--file ${file}: ${where}: the sample id must be a non-empty string`);
  }
  return String(value);
}

function number(file: string, value: unknown, where: string): number {
  const v = typeof value === "boolean" ? Number(value) : typeof value === "string" ? (/^(true|false)$/i.test(value) ? Number(value.toLowerCase() === "true") : Number(value)) : value;
  if (typeof v !== "number" || !Number.isFinite(v) || (typeof value === "string" && value.trim() === "")) {
    throw new CliError(`--file ${file}: ${where}: value ${JSON.stringify(value)} is not a finite number`);
  }
  return v;
}
