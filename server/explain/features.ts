/**
 * Candidate input features that might explain a neuron: word and bigram presence in each text
 * field, counts of a word set, the task's columns and the run's metrics, lengths, digits of the
 * numbers in a field, and overlap between two text fields. A feature is a spec (what it reads)
 * that evaluates on any sample, so it is chosen on one split and scored on another.
 */
import { normalizedWords } from "../metrics/index.js";

export type FeatureKind = "word" | "bigram" | "word-set" | "metric" | "length" | "digit" | "overlap";

export type FeatureSpec =
  | { readonly kind: "word"; readonly field: string; readonly word: string }
  | { readonly kind: "bigram"; readonly field: string; readonly gram: string }
  /** How many words of the field are in `words` (occurrences). */
  | { readonly kind: "word-set"; readonly field: string; readonly words: readonly string[] }
  /** A task column, heuristic or model-output metric, by its metric name. */
  | { readonly kind: "metric"; readonly name: string; readonly metricKind: string }
  | { readonly kind: "length"; readonly field: string; readonly unit: "words" | "chars" }
  | { readonly kind: "digit"; readonly field: string; readonly what: DigitMeasure }
  | { readonly kind: "overlap"; readonly a: string; readonly b: string; readonly measure: OverlapMeasure };

type DigitMeasure = "numbers" | "digits" | "ends-in-0" | "ends-in-5" | "ends-in-0-or-5" | `last-digit-${number}`;
type OverlapMeasure = "share-of-b-in-a" | "new-words-in-b" | "all-of-b-in-a" | "jaccard";

/** One sample as features see it: text fields and the values of the run's metrics. */
export interface FeatureSample {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly metrics: ReadonlyMap<string, number>;
}

/** Per-sample caches of tokenised fields (words, bigrams and parsed numbers). */
export class FeatureRows {
  private readonly words: Map<string, string[]>[];
  private readonly bigrams: Map<string, Set<string>>[];

  constructor(readonly samples: readonly FeatureSample[]) {
    this.words = samples.map((s) => new Map(Object.entries(s.fields).map(([f, text]) => [f, normalizedWords(text)])));
    this.bigrams = this.words.map((m) => new Map([...m].map(([f, w]) => [f, new Set(w.slice(1).map((x, i) => `${w[i]} ${x}`))])));
  }

  get length(): number {
    return this.samples.length;
  }

  wordsOf(i: number, field: string): readonly string[] {
    return this.words[i]!.get(field) ?? [];
  }

  bigramsOf(i: number, field: string): ReadonlySet<string> {
    return this.bigrams[i]!.get(field) ?? new Set();
  }

  /** [n] the feature's value on every sample (NaN where undefined, e.g. a missing metric). */
  values(spec: FeatureSpec): Float64Array {
    return Float64Array.from(this.samples, (_, i) => this.value(spec, i));
  }

  private value(spec: FeatureSpec, i: number): number {
    const s = this.samples[i]!;
    switch (spec.kind) {
      case "word":
        return this.wordsOf(i, spec.field).includes(spec.word) ? 1 : 0;
      case "bigram":
        return this.bigramsOf(i, spec.field).has(spec.gram) ? 1 : 0;
      case "word-set": {
        const set = new Set(spec.words);
        return this.wordsOf(i, spec.field).filter((w) => set.has(w)).length;
      }
      case "metric":
        return s.metrics.get(spec.name) ?? Number.NaN;
      case "length":
        return spec.unit === "words" ? this.wordsOf(i, spec.field).length : (s.fields[spec.field] ?? "").length;
      case "digit":
        return digitValue(s.fields[spec.field] ?? "", spec.what);
      case "overlap":
        return overlapValue(this.wordsOf(i, spec.a), this.wordsOf(i, spec.b), spec.measure);
    }
  }
}

/** Words with at least this share of samples (and at most 1 - it) become presence features. */
const MIN_SUPPORT = 0.02;
const MAX_VOCABULARY = 2000;

/**
 * The candidate features for samples like `rows` (vocabulary from `rows`): word and bigram presence
 * per text field, lengths, digit measures where a field holds numbers, overlaps between every two
 * text fields, and every metric the samples carry.
 */
export function candidateFeatures(rows: FeatureRows, metricKinds: ReadonlyMap<string, string>): FeatureSpec[] {
  const n = rows.length;
  const fields = textFields(rows);
  const specs: FeatureSpec[] = [...metricKinds].map(([name, metricKind]) => ({ kind: "metric", name, metricKind }));
  for (const field of fields) {
    const wordDf = new Map<string, number>();
    const gramDf = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      for (const w of new Set(rows.wordsOf(i, field))) wordDf.set(w, (wordDf.get(w) ?? 0) + 1);
      for (const g of rows.bigramsOf(i, field)) gramDf.set(g, (gramDf.get(g) ?? 0) + 1);
    }
    for (const word of supported(wordDf, n)) specs.push({ kind: "word", field, word });
    for (const gram of supported(gramDf, n)) specs.push({ kind: "bigram", field, gram });
    specs.push({ kind: "length", field, unit: "words" }, { kind: "length", field, unit: "chars" });
    if (rows.samples.some((s) => /\d/.test(s.fields[field] ?? ""))) {
      const digits: DigitMeasure[] = ["numbers", "digits", "ends-in-0", "ends-in-5", "ends-in-0-or-5", ...Array.from({ length: 10 }, (_, d) => `last-digit-${d}` as const)];
      for (const what of digits) specs.push({ kind: "digit", field, what });
    }
  }
  // overlaps only between sentence-like fields (not a short category column)
  const sentences = fields.filter((f) => medianWords(rows, f) >= 3);
  for (const a of sentences) {
    for (const b of sentences) {
      if (a === b) continue;
      for (const measure of ["share-of-b-in-a", "new-words-in-b", "all-of-b-in-a"] as const) specs.push({ kind: "overlap", a, b, measure });
      if (a < b) specs.push({ kind: "overlap", a, b, measure: "jaccard" });
    }
  }
  return specs;
}

function medianWords(rows: FeatureRows, field: string): number {
  const counts = rows.samples.map((_, i) => rows.wordsOf(i, field).length).sort((x, y) => x - y);
  return counts[counts.length >> 1] ?? 0;
}

/** Fields that hold text (not numbers) in most samples. */
function textFields(rows: FeatureRows): string[] {
  const names = new Set(rows.samples.flatMap((s) => Object.keys(s.fields)));
  return [...names].filter((f) => rows.samples.filter((s) => /[^\d\s.+-]/.test(s.fields[f] ?? "")).length > rows.length / 2).sort();
}

function supported(df: ReadonlyMap<string, number>, n: number): string[] {
  const lo = Math.max(3, MIN_SUPPORT * n);
  return [...df].filter(([, c]) => c >= lo && c <= n - lo).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, MAX_VOCABULARY).map(([w]) => w);
}

function digitValue(text: string, what: DigitMeasure): number {
  const numbers = text.match(/\d+/g) ?? [];
  const last = numbers.map((x) => Number(x[x.length - 1]));
  switch (what) {
    case "numbers": return numbers.length;
    case "digits": return numbers.reduce((a, x) => a + x.length, 0);
    case "ends-in-0": return last.includes(0) ? 1 : 0;
    case "ends-in-5": return last.includes(5) ? 1 : 0;
    case "ends-in-0-or-5": return last.some((d) => d === 0 || d === 5) ? 1 : 0;
    default: return last.includes(Number(what.slice("last-digit-".length))) ? 1 : 0;
  }
}

function overlapValue(a: readonly string[], b: readonly string[], measure: OverlapMeasure): number {
  const inA = new Set(a);
  const shared = b.filter((w) => inA.has(w)).length;
  switch (measure) {
    case "share-of-b-in-a": return b.length ? shared / b.length : Number.NaN;
    case "new-words-in-b": return b.length - shared;
    case "all-of-b-in-a": return b.length ? (shared === b.length ? 1 : 0) : Number.NaN;
    case "jaccard": {
      const union = new Set([...a, ...b]).size;
      return union ? new Set(b.filter((w) => inA.has(w))).size / union : Number.NaN;
    }
  }
}

/** Whether a feature takes only the values 0 and 1. */
export function isBinary(spec: FeatureSpec, values?: Float64Array): boolean {
  if (["word", "bigram"].includes(spec.kind)) return true;
  if (spec.kind === "digit") return spec.what.startsWith("ends-in") || spec.what.startsWith("last-digit");
  if (spec.kind === "overlap") return spec.measure === "all-of-b-in-a";
  return values !== undefined && values.every((v) => v === 0 || v === 1 || Number.isNaN(v));
}

/** A stable id ("word:text:red", "metric:lexical_overlap", ...). */
export function featureId(spec: FeatureSpec): string {
  switch (spec.kind) {
    case "word": return `word:${spec.field}:${spec.word}`;
    case "bigram": return `bigram:${spec.field}:${spec.gram}`;
    case "word-set": return `word-set:${spec.field}:${spec.words.join("|")}`;
    case "metric": return `metric:${spec.name}`;
    case "length": return `length:${spec.field}:${spec.unit}`;
    case "digit": return `digit:${spec.field}:${spec.what}`;
    case "overlap": return `overlap:${spec.a}:${spec.b}:${spec.measure}`;
  }
}

/** What the feature reads, in words a reader can check against samples. */
export function describeFeature(spec: FeatureSpec): string {
  switch (spec.kind) {
    case "word": return `${spec.field} contains the word "${spec.word}"`;
    case "bigram": return `${spec.field} contains "${spec.gram}"`;
    case "word-set": return `how many words of ${spec.field} are among {${spec.words.join(", ")}}`;
    case "metric": return `${spec.metricKind === "column" ? "task column" : "metric"} ${spec.name}`;
    case "length": return `length of ${spec.field} in ${spec.unit}`;
    case "digit": return `${spec.field}: ${DIGIT_WORDS[spec.what] ?? `a number ends in digit ${spec.what.slice("last-digit-".length)}`}`;
    case "overlap": return `${OVERLAP_WORDS[spec.measure]} (${spec.b} against ${spec.a})`.replace("{a}", spec.a).replace("{b}", spec.b);
  }
}

const DIGIT_WORDS: Record<string, string> = {
  numbers: "how many numbers",
  digits: "how many digits",
  "ends-in-0": "a number ends in 0",
  "ends-in-5": "a number ends in 5",
  "ends-in-0-or-5": "a number ends in 0 or 5",
};

const OVERLAP_WORDS: Record<OverlapMeasure, string> = {
  "share-of-b-in-a": "word overlap: share of {b} words found in {a}",
  "new-words-in-b": "new words: {b} words not in {a}",
  "all-of-b-in-a": "lexical overlap: every {b} word is in {a}",
  jaccard: "word overlap: Jaccard of {a} and {b}",
};
