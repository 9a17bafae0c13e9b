import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph } from "../../../gpu-runner/graph/graph.js";
import { mul, reduceSum } from "../../../gpu-runner/graph/ops.js";
import { GraphSession } from "../../../gpu-runner/graph/session.js";
import { dense } from "../../../gpu-runner/models/common.js";

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 30) - 1);
}

for (const layout of ["outIn", "inOut"] as const) {
  test(`dense (${layout}): forward and VJPs w.r.t. x, W, bias against a float64 JS oracle`, async () => {
    const [B, T, I, O] = [2, 3, 4, 5];
    const g = new Graph({ dtype: "float64" });
    const x = g.input("x", ["batch", "seq", I]);
    const w = g.input("w", layout === "outIn" ? [O, I] : [I, O]);
    const b = g.input("b", [O]);
    const r = g.input("r", ["batch", "seq", O]);
    const y = dense(x, w, layout, b);
    const loss = reduceSum(mul(y, r), [0, 1, 2]);
    const [dx, dw, db] = g.grad(loss, [x, w, b]);
    g.output(y, "y");
    g.output(dx!, "dx");
    g.output(dw!, "dw");
    g.output(db!, "db");
    const X = values(B * T * I, 1), W = values(O * I, 2), Bv = values(O, 3), R = values(B * T * O, 4);
    const wAt = (o: number, i: number) => (layout === "outIn" ? W[o * I + i]! : W[i * O + o]!);
    const s = await GraphSession.create(g);
    const out = await s.run({ x: { data: X, shape: [B, T, I] }, w: { data: W, shape: layout === "outIn" ? [O, I] : [I, O] }, b: { data: Bv, shape: [O] }, r: { data: R, shape: [B, T, O] } });
    const rows = B * T;
    const Y = new Float64Array(rows * O), DX = new Float64Array(rows * I), DW = new Float64Array(O * I), DB = new Float64Array(O);
    for (let n = 0; n < rows; n++) {
      for (let o = 0; o < O; o++) {
        let acc = Bv[o]!;
        for (let i = 0; i < I; i++) acc += X[n * I + i]! * wAt(o, i);
        Y[n * O + o] = acc;
        const rr = R[n * O + o]!;
        DB[o] += rr;
        for (let i = 0; i < I; i++) {
          DX[n * I + i] += rr * wAt(o, i);
          DW[layout === "outIn" ? o * I + i : i * O + o] += rr * X[n * I + i]!;
        }
      }
    }
    const near = (a: ArrayLike<number>, e: Float64Array, what: string) => {
      assert.equal(a.length, e.length, what);
      e.forEach((v, i) => assert.ok(Math.abs(a[i]! - v) < 1e-12, `${what}[${i}]: ${a[i]} vs ${v}`));
    };
    near(out["y"]!.data as Float64Array, Y, "y");
    near(out["dx"]!.data as Float64Array, DX, "dx");
    near(out["dw"]!.data as Float64Array, DW, "dw");
    near(out["db"]!.data as Float64Array, DB, "db");
    await s.release();
  });
}
