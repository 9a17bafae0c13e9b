/**
 * One case per op use: graph inputs (static shape, possibly symbolic, plus the concrete shape fed
 * at run time), the op under test, and a plain-JS reference of its forward value. Shared by the
 * forward-value test and the finite-difference VJP test.
 */
import * as G from "../../../gpu-runner/graph/index.js";
import type { Dim, Tensor } from "../../../gpu-runner/graph/index.js";
import {
  concatNd,
  map,
  matmulNd,
  Nd,
  reduceNd,
  reshapeNd,
  rows,
  sliceNd,
  transposeNd,
  zip,
  zip3,
} from "./reference-nd.js";

export interface InputSpec {
  name: string;
  shape: Dim[];
  /** Shape fed at run time (defaults to `shape` when it is literal). */
  concrete?: number[];
  dtype?: "float" | "int64" | "bool";
  /** Float range of the random values (default [-1.5, 1.5]). */
  range?: [number, number];
  /** Fixed values (int64 / bool inputs). */
  values?: number[];
}

export interface OpCase {
  name: string;
  /** Exported op functions this case exercises. */
  covers: string[];
  inputs: InputSpec[];
  build: (xs: Tensor[]) => Tensor;
  ref: (xs: Nd[]) => Nd;
  /** Not differentiable (bool/int64 result): forward test only. */
  forwardOnly?: boolean;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x ** 3)));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const softmaxRow = (r: number[]) => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const logSoftmaxRow = (r: number[]) => softmaxRow(r).map(Math.log);
const POS: [number, number] = [0.5, 2];

export const CASES: OpCase[] = [
  {
    name: "add with leading and size-1 broadcast",
    covers: ["add"],
    inputs: [{ name: "a", shape: [2, 3, 4] }, { name: "b", shape: [3, 1] }],
    build: ([a, b]) => G.add(a, b),
    ref: ([a, b]) => zip(a, b, (x, y) => x + y),
  },
  {
    name: "add, both operands broadcast, plus a scalar",
    covers: ["add"],
    inputs: [{ name: "a", shape: [1, 3, 1] }, { name: "b", shape: [2, 1, 4] }],
    build: ([a, b]) => G.add(G.add(a, b), 0.25),
    ref: ([a, b]) => zip(a, b, (x, y) => x + y + 0.25),
  },
  {
    name: "sub",
    covers: ["sub"],
    inputs: [{ name: "a", shape: [2, 3] }, { name: "b", shape: [2, 1, 3] }],
    build: ([a, b]) => G.sub(a, b),
    ref: ([a, b]) => zip(a, b, (x, y) => x - y),
  },
  {
    name: "sub from a number",
    covers: ["sub"],
    inputs: [{ name: "a", shape: [3] }],
    build: ([a]) => G.sub(2, a),
    ref: ([a]) => map(a, (x) => 2 - x),
  },
  {
    name: "mul",
    covers: ["mul"],
    inputs: [{ name: "a", shape: [3, 1, 4] }, { name: "b", shape: [2, 4] }],
    build: ([a, b]) => G.mul(a, b),
    ref: ([a, b]) => zip(a, b, (x, y) => x * y),
  },
  {
    name: "div",
    covers: ["div"],
    inputs: [{ name: "a", shape: [2, 3] }, { name: "b", shape: [3], range: POS }],
    build: ([a, b]) => G.div(a, b),
    ref: ([a, b]) => zip(a, b, (x, y) => x / y),
  },
  { name: "neg", covers: ["neg"], inputs: [{ name: "x", shape: [2, 3] }], build: ([x]) => G.neg(x), ref: ([x]) => map(x, (v) => -v) },
  { name: "exp", covers: ["exp"], inputs: [{ name: "x", shape: [2, 3] }], build: ([x]) => G.exp(x), ref: ([x]) => map(x, Math.exp) },
  { name: "log", covers: ["log"], inputs: [{ name: "x", shape: [2, 3], range: POS }], build: ([x]) => G.log(x), ref: ([x]) => map(x, Math.log) },
  { name: "tanh", covers: ["tanh"], inputs: [{ name: "x", shape: [2, 3] }], build: ([x]) => G.tanh(x), ref: ([x]) => map(x, Math.tanh) },
  { name: "sigmoid", covers: ["sigmoid"], inputs: [{ name: "x", shape: [2, 3] }], build: ([x]) => G.sigmoid(x), ref: ([x]) => map(x, sigmoid) },
  { name: "sin", covers: ["sin"], inputs: [{ name: "x", shape: [2, 3] }], build: ([x]) => G.sin(x), ref: ([x]) => map(x, Math.sin) },
  { name: "cos", covers: ["cos"], inputs: [{ name: "x", shape: [2, 3] }], build: ([x]) => G.cos(x), ref: ([x]) => map(x, Math.cos) },
  { name: "sqrt", covers: ["sqrt"], inputs: [{ name: "x", shape: [2, 3], range: POS }], build: ([x]) => G.sqrt(x), ref: ([x]) => map(x, Math.sqrt) },
  { name: "rsqrt", covers: ["rsqrt"], inputs: [{ name: "x", shape: [2, 3], range: POS }], build: ([x]) => G.rsqrt(x), ref: ([x]) => map(x, (v) => 1 / Math.sqrt(v)) },
  { name: "pow 3", covers: ["pow"], inputs: [{ name: "x", shape: [2, 3] }], build: ([x]) => G.pow(x, 3), ref: ([x]) => map(x, (v) => v ** 3) },
  { name: "pow 2 (as x*x)", covers: ["pow"], inputs: [{ name: "x", shape: [2, 3] }], build: ([x]) => G.pow(x, 2), ref: ([x]) => map(x, (v) => v * v) },
  { name: "pow -0.5", covers: ["pow"], inputs: [{ name: "x", shape: [2, 3], range: POS }], build: ([x]) => G.pow(x, -0.5), ref: ([x]) => map(x, (v) => v ** -0.5) },
  { name: "gelu (tanh)", covers: ["gelu"], inputs: [{ name: "x", shape: [2, 5], range: [-3, 3] }], build: ([x]) => G.gelu(x), ref: ([x]) => map(x, gelu) },
  { name: "silu", covers: ["silu"], inputs: [{ name: "x", shape: [2, 5], range: [-3, 3] }], build: ([x]) => G.silu(x), ref: ([x]) => map(x, (v) => v * sigmoid(v)) },
  { name: "softmax", covers: ["softmax"], inputs: [{ name: "x", shape: [2, 3, 5] }], build: ([x]) => G.softmax(x), ref: ([x]) => rows(x, softmaxRow) },
  { name: "logSoftmax", covers: ["logSoftmax"], inputs: [{ name: "x", shape: [2, 5] }], build: ([x]) => G.logSoftmax(x), ref: ([x]) => rows(x, logSoftmaxRow) },
  {
    name: "layerNorm",
    covers: ["layerNorm"],
    inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "gamma", shape: [4] }, { name: "beta", shape: [4] }],
    build: ([x, g, b]) => G.layerNorm(x, g, b, 1e-5),
    ref: ([x, g, b]) =>
      rows(x, (r) => {
        const m = r.reduce((p, q) => p + q, 0) / r.length;
        const v = r.reduce((p, q) => p + (q - m) ** 2, 0) / r.length;
        // LayerNormalization's epsilon attribute is a float32.
        return r.map((q, i) => ((q - m) / Math.sqrt(v + Math.fround(1e-5))) * g.data[i] + b.data[i]);
      }),
  },
  {
    name: "rmsNorm",
    covers: ["rmsNorm"],
    inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "w", shape: [4] }],
    build: ([x, w]) => G.rmsNorm(x, w, 1e-6),
    ref: ([x, w]) =>
      rows(x, (r) => {
        const ms = r.reduce((p, q) => p + q * q, 0) / r.length;
        return r.map((q, i) => (q / Math.sqrt(ms + 1e-6)) * w.data[i]);
      }),
  },
  {
    name: "matmul batched @ 2-D weight",
    covers: ["matmul"],
    inputs: [{ name: "a", shape: [2, 3, 4] }, { name: "w", shape: [4, 5] }],
    build: ([a, w]) => G.matmul(a, w),
    ref: ([a, w]) => matmulNd(a, w),
  },
  {
    name: "matmul 2-D @ 2-D",
    covers: ["matmul"],
    inputs: [{ name: "a", shape: [3, 4] }, { name: "b", shape: [4, 2] }],
    build: ([a, b]) => G.matmul(a, b),
    ref: ([a, b]) => matmulNd(a, b),
  },
  {
    name: "matmul with broadcast batch axes",
    covers: ["matmul"],
    inputs: [{ name: "a", shape: [2, 1, 3, 4] }, { name: "b", shape: [3, 4, 2] }],
    build: ([a, b]) => G.matmul(a, b),
    ref: ([a, b]) => matmulNd(a, b),
  },
  {
    name: "matmul symbolic batch @ weight",
    covers: ["matmul"],
    inputs: [{ name: "a", shape: ["batch", "seq", 4], concrete: [2, 3, 4] }, { name: "w", shape: [4, 3] }],
    build: ([a, w]) => G.matmul(a, w),
    ref: ([a, w]) => matmulNd(a, w),
  },
  {
    name: "linear (PyTorch layout) with bias, symbolic batch",
    covers: ["linear"],
    inputs: [{ name: "x", shape: ["batch", "seq", 4], concrete: [2, 3, 4] }, { name: "w", shape: [3, 4] }, { name: "bias", shape: [3] }],
    build: ([x, w, b]) => G.linear(x, w, b),
    ref: ([x, w, b]) => zip(matmulNd(x, transposeNd(w, [1, 0])), b, (p, q) => p + q),
  },
  {
    name: "linear 2-D without bias",
    covers: ["linear"],
    inputs: [{ name: "x", shape: [2, 4] }, { name: "w", shape: [5, 4] }],
    build: ([x, w]) => G.linear(x, w),
    ref: ([x, w]) => matmulNd(x, transposeNd(w, [1, 0])),
  },
  {
    name: "transpose",
    covers: ["transpose"],
    inputs: [{ name: "x", shape: [2, 3, 4] }],
    build: ([x]) => G.transpose(x, [2, 0, 1]),
    ref: ([x]) => transposeNd(x, [2, 0, 1]),
  },
  {
    name: "reshape with -1 and 0",
    covers: ["reshape"],
    inputs: [{ name: "x", shape: [2, 3, 4] }],
    build: ([x]) => G.reshape(G.reshape(x, [6, -1]), [0, 2, 2]),
    ref: ([x]) => reshapeNd(x, [6, 2, 2]),
  },
  {
    name: "reshape with symbolic dims (split heads)",
    covers: ["reshape", "transpose"],
    inputs: [{ name: "x", shape: ["batch", "seq", 6], concrete: [2, 3, 6] }],
    build: ([x]) => G.transpose(G.reshape(x, ["batch", "seq", 2, -1]), [0, 2, 1, 3]),
    ref: ([x]) => transposeNd(reshapeNd(x, [2, 3, 2, 3]), [0, 2, 1, 3]),
  },
  {
    name: "reshape flatten symbolic then restore",
    covers: ["reshape"],
    inputs: [{ name: "x", shape: ["batch", "seq", 4], concrete: [2, 3, 4] }],
    build: ([x]) => G.mul(G.reshape(G.mul(G.reshape(x, [-1, 4]), 2), ["batch", "seq", 4]), x),
    ref: ([x]) => map(x, (v) => 2 * v * v),
  },
  {
    name: "unsqueeze and squeeze",
    covers: ["unsqueeze", "squeeze"],
    inputs: [{ name: "x", shape: [2, 3] }],
    build: ([x]) => G.mul(G.squeeze(G.unsqueeze(x, [0, -1]), [0]), G.unsqueeze(x, [-1])),
    ref: ([x]) => reshapeNd(map(x, (v) => v * v), [2, 3, 1]),
  },
  {
    name: "concat",
    covers: ["concat"],
    inputs: [{ name: "a", shape: [2, 3] }, { name: "b", shape: [2, 2] }, { name: "c", shape: [2, 1] }],
    build: ([a, b, c]) => G.concat([a, b, c], 1),
    ref: ([a, b, c]) => concatNd([a, b, c], 1),
  },
  {
    name: "concat on a symbolic axis (soft prompt after the instruction)",
    covers: ["concat"],
    inputs: [{ name: "a", shape: [2, "seq", 3], concrete: [2, 4, 3] }, { name: "p", shape: [2, 2, 3] }],
    build: ([a, p]) => G.concat([a, p], 1),
    ref: ([a, p]) => concatNd([a, p], 1),
  },
  {
    name: "slice",
    covers: ["slice"],
    inputs: [{ name: "x", shape: [3, 5] }],
    build: ([x]) => G.add(G.slice(x, 1, 1, 4), G.slice(x, -1, -3)),
    ref: ([x]) => zip(sliceNd(x, 1, 1, 4), sliceNd(x, 1, 2, 5), (p, q) => p + q),
  },
  {
    name: "slice on a symbolic axis",
    covers: ["slice"],
    inputs: [{ name: "x", shape: [2, "seq", 2], concrete: [2, 5, 2] }],
    build: ([x]) => G.concat([G.slice(x, 1, 1, 3), G.slice(x, 1, -2), G.slice(x, 1, 3)], 1),
    ref: ([x]) => concatNd([sliceNd(x, 1, 1, 3), sliceNd(x, 1, 3, 5), sliceNd(x, 1, 3, 5)], 1),
  },
  {
    name: "gather (embedding lookup, repeated ids)",
    covers: ["gather"],
    inputs: [{ name: "table", shape: [5, 3] }, { name: "ids", shape: [2, 3], dtype: "int64", values: [0, 4, 2, 2, 4, 4] }],
    build: ([t, ids]) => G.gather(t, ids),
    ref: ([t, ids]) => {
      const out = new Float64Array(ids.data.length * 3);
      ids.data.forEach((id, i) => out.set(t.data.subarray(id * 3, id * 3 + 3), i * 3));
      return new Nd([2, 3, 3], out);
    },
  },
  {
    name: "takeAlongLastAxis",
    covers: ["takeAlongLastAxis"],
    inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "idx", shape: [2, 3], dtype: "int64", values: [0, 3, 1, 1, 2, 0] }],
    build: ([x, idx]) => G.takeAlongLastAxis(x, idx),
    ref: ([x, idx]) => new Nd([2, 3], Float64Array.from(idx.data, (k, i) => x.data[i * 4 + k])),
  },
  {
    name: "reduceSum",
    covers: ["reduceSum"],
    inputs: [{ name: "x", shape: [2, 3, 4] }],
    build: ([x]) => G.reduceSum(x, [0, 2]),
    ref: ([x]) => reduceNd(x, [0, 2], false, false),
  },
  {
    name: "reduceSum keepdims",
    covers: ["reduceSum"],
    inputs: [{ name: "x", shape: [2, 3, 4] }],
    build: ([x]) => G.reduceSum(x, [-1], true),
    ref: ([x]) => reduceNd(x, [2], true, false),
  },
  {
    name: "reduceMean keepdims",
    covers: ["reduceMean"],
    inputs: [{ name: "x", shape: [2, 3, 4] }],
    build: ([x]) => G.reduceMean(x, [1], true),
    ref: ([x]) => reduceNd(x, [1], true, true),
  },
  {
    name: "reduceMean over a symbolic axis",
    covers: ["reduceMean"],
    inputs: [{ name: "x", shape: ["batch", "seq", 2], concrete: [2, 3, 2] }],
    build: ([x]) => G.reduceMean(x, [0, 1]),
    ref: ([x]) => reduceNd(x, [0, 1], false, true),
  },
  {
    name: "where (broadcast condition and operands)",
    covers: ["where"],
    inputs: [
      { name: "c", shape: [2, 1, 4], dtype: "bool", values: [1, 0, 0, 1, 0, 1, 1, 0] },
      { name: "a", shape: [2, 3, 4] },
      { name: "b", shape: [4] },
    ],
    build: ([c, a, b]) => G.where(c, a, b),
    ref: ([c, a, b]) => zip3(c, a, b, (k, x, y) => (k ? x : y)),
  },
  {
    name: "maskedFill (causal mask from range and less)",
    covers: ["maskedFill", "range", "less"],
    inputs: [{ name: "s", shape: [2, "seq", "seq"], concrete: [2, 3, 3] }],
    build: ([s]) => {
      const r = G.range(s.graph, "seq");
      const future = G.less(G.unsqueeze(r, [1]), G.unsqueeze(r, [0]));
      return G.softmax(G.maskedFill(s, future, -1e9));
    },
    ref: ([s]) => {
      const out = new Float64Array(s.data.length);
      s.data.forEach((v, i) => (out[i] = i % 3 > Math.floor(i / 3) % 3 ? -1e9 : v));
      return rows(new Nd(s.shape, out), softmaxRow);
    },
  },
  {
    name: "crossEntropy over masked positions",
    covers: ["crossEntropy"],
    inputs: [
      { name: "logits", shape: ["batch", "seq", 5], concrete: [2, 3, 5], range: [-3, 3] },
      { name: "targets", shape: ["batch", "seq"], concrete: [2, 3], dtype: "int64", values: [1, 4, 0, 2, 2, 3] },
      { name: "mask", shape: ["batch", "seq"], concrete: [2, 3], values: [0, 1, 1, 1, 0, 1] },
    ],
    build: ([l, t, m]) => G.crossEntropy(l, t, m),
    ref: ([l, t, m]) => {
      const lp = rows(l, logSoftmaxRow);
      let num = 0;
      let den = 0;
      t.data.forEach((k, i) => {
        num -= m.data[i] * lp.data[i * 5 + k];
        den += m.data[i];
      });
      return new Nd([], Float64Array.of(num / den));
    },
  },
  {
    name: "comparisons, logic and cast",
    covers: ["greater", "equal", "lessOrEqual", "and", "not", "cast"],
    forwardOnly: true,
    inputs: [{ name: "a", shape: [6] }, { name: "b", shape: [6] }],
    build: ([a, b]) => {
      const gt = G.greater(a, b);
      const le = G.lessOrEqual(a, 0);
      const eq = G.equal(G.cast(G.cast(G.greater(a, 10), "int64"), "int64"), 0);
      return G.add(G.cast(G.and(gt, G.not(le)), "float"), G.mul(G.cast(eq, "float"), 2));
    },
    ref: ([a, b]) => zip(a, b, (x, y) => (x > y && !(x <= 0) ? 1 : 0) + 2),
  },
  {
    name: "max and first argmax over the last axis (ties included)",
    covers: ["maxLastAxis", "argMaxLastAxis"],
    forwardOnly: true,
    inputs: [{ name: "x", shape: [3, 5] }],
    build: ([x]) => {
      const tied = G.concat([x, G.slice(x, 1, 2, 3)], 1); // column 2 repeated at the end: a tie when it is the max
      return G.add(G.maxLastAxis(tied), G.mul(G.cast(G.argMaxLastAxis(tied), "float"), 10));
    },
    ref: ([x]) => {
      const out = new Float64Array(3);
      for (let r = 0; r < 3; r++) {
        const row = [...x.data.subarray(r * 5, r * 5 + 5), x.data[r * 5 + 2]];
        const m = Math.max(...row);
        out[r] = m + 10 * row.indexOf(m);
      }
      return new Nd([3], out);
    },
  },
];

/** Every op exported from the DSL that has a VJP (checked against the cases' `covers`). */
export const DIFFERENTIABLE_OPS = [
  "add", "sub", "mul", "div", "neg", "exp", "log", "tanh", "sigmoid", "sin", "cos", "sqrt", "rsqrt",
  "pow", "gelu", "silu", "softmax", "logSoftmax", "layerNorm", "rmsNorm", "matmul", "linear", "transpose",
  "reshape", "unsqueeze", "squeeze", "concat", "slice", "gather", "takeAlongLastAxis", "reduceSum",
  "reduceMean", "where", "maskedFill", "crossEntropy",
];
