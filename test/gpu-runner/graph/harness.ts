/** Builds and runs op cases: random feeds, forward values, analytic and finite-difference grads. */
import * as G from "../../../gpu-runner/graph/index.js";
import type { GraphDtype, TensorValue } from "../../../gpu-runner/graph/index.js";
import type { InputSpec, OpCase } from "./op-cases.js";
import { Nd, rng, size } from "./reference-nd.js";

function concreteShape(s: InputSpec): number[] {
  if (s.concrete) return s.concrete;
  if (s.shape.every((d) => typeof d === "number")) return s.shape as number[];
  throw new Error(`input ${s.name}: symbolic shape needs a concrete shape`);
}

/** Random (or fixed) values for every input of a case, as float64 Nd. */
export function caseValues(c: OpCase, seed: number): Nd[] {
  const rand = rng(seed);
  return c.inputs.map((s) => {
    const shape = concreteShape(s);
    if (s.values) return new Nd(shape, Float64Array.from(s.values));
    const [lo, hi] = s.range ?? [-1.5, 1.5];
    return new Nd(shape, Float64Array.from({ length: size(shape) }, () => lo + (hi - lo) * rand()));
  });
}

export function toFeed(s: InputSpec, v: Nd, dtype: GraphDtype): TensorValue {
  const kind = s.dtype ?? "float";
  const data =
    kind === "int64"
      ? BigInt64Array.from(v.data, (x) => BigInt(x))
      : kind === "bool"
        ? Uint8Array.from(v.data)
        : dtype === "float32"
          ? Float32Array.from(v.data)
          : Float64Array.from(v.data);
  return { data, shape: v.shape };
}

/** Runs the case's op forward in a graph of `dtype`. */
export async function runForward(c: OpCase, values: Nd[], dtype: GraphDtype): Promise<TensorValue> {
  const g = new G.Graph({ dtype });
  const ts = c.inputs.map((s) => g.input(s.name, s.shape, s.dtype ?? "float"));
  g.output(c.build(ts), "y");
  const session = await G.GraphSession.create(g);
  const feeds = Object.fromEntries(c.inputs.map((s, i) => [s.name, toFeed(s, values[i], dtype)]));
  const out = (await session.run(feeds)).y;
  await session.release();
  return out;
}

export interface GradCheck {
  input: string;
  index: number;
  analytic: number;
  numeric: number;
}

/**
 * float64: loss = sum(y * sin(y + 0.3)) (a non-uniform seed for y's VJP); returns, for every
 * element of every float input, the analytic gradient from graph.grad and the central
 * finite difference (step h) of the same session's loss.
 */
export async function gradChecks(c: OpCase, values: Nd[], h = 1e-5): Promise<GradCheck[]> {
  const g = new G.Graph({ dtype: "float64" });
  const ts = c.inputs.map((s) => g.input(s.name, s.shape, s.dtype ?? "float"));
  const y = c.build(ts);
  const weighted = G.mul(y, G.sin(G.add(y, 0.3)));
  const loss = y.rank === 0 ? weighted : G.reduceSum(weighted, Array.from({ length: y.rank }, (_, i) => i));
  const floats = c.inputs.map((s, i) => ({ s, i })).filter(({ s }) => (s.dtype ?? "float") === "float");
  const grads = g.grad(loss, floats.map(({ i }) => ts[i]));
  g.output(loss, "loss");
  floats.forEach(({ s }, k) => g.output(grads[k], `d_${s.name}`));
  const session = await G.GraphSession.create(g);
  const feeds = Object.fromEntries(c.inputs.map((s, i) => [s.name, toFeed(s, values[i], "float64")]));
  const base = await session.run(feeds);
  const checks: GradCheck[] = [];
  for (const { s, i } of floats) {
    const analytic = base[`d_${s.name}`].data as Float64Array;
    if (analytic.length !== values[i].data.length) throw new Error(`d_${s.name}: ${analytic.length} values for ${values[i].data.length} inputs`);
    const x = Float64Array.from(values[i].data);
    for (let e = 0; e < x.length; e++) {
      const lossAt = async (v: number): Promise<number> => {
        const xs = Float64Array.from(x);
        xs[e] = v;
        const r = await session.run({ ...feeds, [s.name]: { data: xs, shape: values[i].shape } }, ["loss"]);
        return (r.loss.data as Float64Array)[0];
      };
      const numeric = ((await lossAt(x[e] + h)) - (await lossAt(x[e] - h))) / (2 * h);
      checks.push({ input: s.name, index: e, analytic: analytic[e], numeric });
    }
  }
  await session.release();
  return checks;
}
