/** Digit features for arithmetic tasks: the last-digit shortcut the paper found for products. */

export type ArithmeticOp = "+" | "-" | "*";

export const ARITHMETIC_OPS: readonly ArithmeticOp[] = ["+", "-", "*"];

/** Operand text -> integer; undefined unless the whole text is one integer. */
export function parseInteger(text: string): bigint | undefined {
  const t = text.trim();
  return /^[+-]?\d+$/.test(t) ? BigInt(t) : undefined;
}

/** The first integer written in a model's prediction ("= -12." -> -12n), if any. */
export function firstInteger(prediction: string): bigint | undefined {
  const m = /-?\d+/.exec(prediction);
  return m === null ? undefined : BigInt(m[0]);
}

/** The last decimal digit of |n|. */
export function lastDigit(n: bigint): number {
  return Number((n < 0n ? -n : n) % 10n);
}

export function applyOp(a: bigint, b: bigint, op: ArithmeticOp): bigint {
  return op === "+" ? a + b : op === "-" ? a - b : a * b;
}

/** (last digit of a) op (last digit of b), reduced into 0..9: the shortcut's guess. */
export function shortcutDigit(a: bigint, b: bigint, op: ArithmeticOp): number {
  const v = Number(applyOp(BigInt(lastDigit(a)), BigInt(lastDigit(b)), op));
  return ((v % 10) + 10) % 10;
}

/** Per-sample digit features; NaN where an operand or the prediction has no integer. */
export interface DigitFeatures {
  readonly aLastDigit: number;
  readonly bLastDigit: number;
  readonly resultLastDigit: number;
  readonly predLastDigit: number;
  /** 1 when the predicted last digit equals the shortcut digit, else 0. */
  readonly lastDigitShortcut: number;
  /** 1 when the true result's last digit equals the shortcut digit (always, for products). */
  readonly shortcutAgrees: number;
}

export function digitFeatures(a: string, b: string, op: ArithmeticOp, prediction?: string): DigitFeatures {
  const x = parseInteger(a);
  const y = parseInteger(b);
  const pred = prediction === undefined ? undefined : firstInteger(prediction);
  const predLastDigit = pred === undefined ? Number.NaN : lastDigit(pred);
  if (x === undefined || y === undefined) {
    return {
      aLastDigit: x === undefined ? Number.NaN : lastDigit(x),
      bLastDigit: y === undefined ? Number.NaN : lastDigit(y),
      resultLastDigit: Number.NaN, predLastDigit, lastDigitShortcut: Number.NaN, shortcutAgrees: Number.NaN,
    };
  }
  const shortcut = shortcutDigit(x, y, op);
  const resultLastDigit = lastDigit(applyOp(x, y, op));
  return {
    aLastDigit: lastDigit(x),
    bLastDigit: lastDigit(y),
    resultLastDigit,
    predLastDigit,
    lastDigitShortcut: pred === undefined ? Number.NaN : predLastDigit === shortcut ? 1 : 0,
    shortcutAgrees: resultLastDigit === shortcut ? 1 : 0,
  };
}
