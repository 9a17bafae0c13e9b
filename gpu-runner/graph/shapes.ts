/** Static shape arithmetic for the graph builder: broadcasting, axis normalisation, symbolic
 * products (for reshape's -1). Pure functions over Shape. */
import { GraphBuildError, type Dim, type Shape } from "./graph.js";

/** numpy broadcast of two static shapes. A symbol meets a literal > 1 as that literal; two
 * different symbols on one axis are an error (the sizes cannot be proven equal). */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (typeof da === "number" && typeof db === "number") throw mismatch(op, a, b);
    else if (typeof da === "number") out.push(da);
    else if (typeof db === "number") out.push(db);
    else throw mismatch(op, a, b);
  }
  return out;
}

function mismatch(op: string, a: Shape, b: Shape): GraphBuildError {
  return new GraphBuildError(`${op}: shapes [${a}] and [${b}] do not broadcast (use assumeShape() to equate symbolic dims)`);
}

/** Axes of `out` that a gradient must be summed over to get back to `target`'s shape:
 * `leading` (missing in target; dropped) and `kept` (size 1 in target; kept with size 1). */
export function broadcastAxes(target: Shape, out: Shape): { leading: number[]; kept: number[] } {
  const lead = out.length - target.length;
  const leading = Array.from({ length: lead }, (_, i) => i);
  const kept: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && out[lead + i] !== 1) kept.push(lead + i);
  });
  return { leading, kept };
}

/** Normalises a possibly negative axis for a tensor of `rank`; throws when out of range. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new GraphBuildError(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Splits a dim into a literal factor and symbolic factors ("a*b*12" -> 12, [a, b]). */
function factors(d: Dim): { n: number; syms: string[] } {
  if (typeof d === "number") return { n: d, syms: [] };
  let n = 1;
  const syms: string[] = [];
  for (const f of d.split("*")) {
    if (/^\d+$/.test(f)) n *= Number(f);
    else syms.push(f);
  }
  return { n, syms };
}

/** Product of dims as a Dim: a number when all literal, else "n*a*b" (symbols sorted). */
export function dimProduct(dims: readonly Dim[]): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    const f = factors(d);
    n *= f.n;
    syms.push(...f.syms);
  }
  if (syms.length === 0) return n;
  syms.sort();
  return (n === 1 ? syms : [String(n), ...syms]).join("*");
}

/** Quotient of dim products num / den, or undefined when it is not exact. */
export function dimQuotient(num: readonly Dim[], den: readonly Dim[]): Dim | undefined {
  const a = factors(dimProduct(num));
  const b = factors(dimProduct(den));
  if (b.n === 0 || a.n % b.n !== 0) return undefined;
  const left = [...a.syms];
  for (const s of b.syms) {
    const i = left.indexOf(s);
    if (i < 0) return undefined;
    left.splice(i, 1);
  }
  const n = a.n / b.n;
  if (left.length === 0) return n;
  return dimProduct([n, ...left]);
}

/** Size of a dim when literal. */
export function isLiteral(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === "number");
}
