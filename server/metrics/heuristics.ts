import type { ParsedTaskRow } from "../tasks/types.js";
import { ARITHMETIC_OPS, digitFeatures, type ArithmeticOp, type DigitFeatures } from "./arithmetic.js";
import { lexicalOverlap, subsequence } from "./nli.js";
import { MetricError, type SampleOutput } from "./types.js";

export interface NliFields {
  readonly premise: string;
  readonly hypothesis: string;
}

export interface ArithmeticFields {
  readonly a: string;
  readonly b: string;
  /** The operation for every row; default "*" unless `opField` is given. */
  readonly op?: ArithmeticOp;
  /** A field holding each row's operation ("+", "-", "*", "x", "×"); wins over `op`. */
  readonly opField?: string;
}

/**
 * Which detectors apply. Undefined members are detected: NLI when every row has `premise` and
 * `hypothesis`; arithmetic when every row has `a` and `b` (operation from an `op` field when
 * every row has one, else "*"). `false` turns a detector off.
 */
export interface HeuristicConfig {
  readonly nli?: NliFields | false;
  readonly arithmetic?: ArithmeticFields | false;
}

type Rows = readonly Pick<ParsedTaskRow, "id" | "fields">[];

const everyRowHas = (rows: Rows, field: string) => rows.length > 0 && rows.every((r) => Object.hasOwn(r.fields, field));

function requireFields(rows: Rows, fields: readonly string[], detector: string): void {
  for (const f of fields) {
    if (!rows.some((r) => Object.hasOwn(r.fields, f))) {
      throw new MetricError(undefined, `${detector} detector reads field "${f}", which no row has: name the right fields in the heuristic config`);
    }
  }
}

/** The NLI field names in force, or undefined when the detector is off. */
export function resolveNli(rows: Rows, config: HeuristicConfig | undefined): NliFields | undefined {
  const nli = config?.nli;
  if (nli === false) return undefined;
  if (nli === undefined) return everyRowHas(rows, "premise") && everyRowHas(rows, "hypothesis") ? { premise: "premise", hypothesis: "hypothesis" } : undefined;
  requireFields(rows, [nli.premise, nli.hypothesis], "NLI");
  return nli;
}

/** The arithmetic field names in force, or undefined when the detector is off. */
export function resolveArithmetic(rows: Rows, config: HeuristicConfig | undefined): ArithmeticFields | undefined {
  const arith = config?.arithmetic;
  if (arith === false) return undefined;
  if (arith === undefined) {
    if (!everyRowHas(rows, "a") || !everyRowHas(rows, "b")) return undefined;
    return everyRowHas(rows, "op") ? { a: "a", b: "b", opField: "op" } : { a: "a", b: "b", op: "*" };
  }
  if (arith.op !== undefined && !ARITHMETIC_OPS.includes(arith.op)) {
    throw new MetricError(undefined, `arithmetic op "${arith.op}" is not one of ${ARITHMETIC_OPS.join(" ")}`);
  }
  requireFields(rows, [arith.a, arith.b, ...(arith.opField === undefined ? [] : [arith.opField])], "arithmetic");
  return arith;
}

export function nliVector(rows: Rows, f: NliFields, which: "lexical_overlap" | "subsequence"): Float64Array {
  const detect = which === "lexical_overlap" ? lexicalOverlap : subsequence;
  return Float64Array.from(rows, (r) => {
    const p = r.fields[f.premise];
    const h = r.fields[f.hypothesis];
    return p === undefined || h === undefined ? Number.NaN : detect(p, h);
  });
}

const OP_ALIASES: Readonly<Record<string, ArithmeticOp>> = { "+": "+", "-": "-", "\u2212": "-", "*": "*", x: "*", "\u00d7": "*" };

/** Digit features per row (prediction from `outputs` when given); NaN where inputs are missing. */
export function digitVectors(rows: Rows, f: ArithmeticFields, outputs?: readonly SampleOutput[]): DigitFeatures[] {
  return rows.map((r, i) => {
    const a = r.fields[f.a];
    const b = r.fields[f.b];
    const op = f.opField === undefined ? (f.op ?? "*") : OP_ALIASES[(r.fields[f.opField] ?? "").trim()];
    const features = digitFeatures(a ?? "", b ?? "", op ?? "*", outputs?.[i]?.prediction);
    // Without a known operation only the operands' and the prediction's digits mean anything.
    return op === undefined ? { ...features, resultLastDigit: NaN, lastDigitShortcut: NaN, shortcutAgrees: NaN } : features;
  });
}
