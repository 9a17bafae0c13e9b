/**
 * Half-precision products (halfGemm, halfMatmul) against float64 oracles computed here:
 * - forward: every output is a half value (the product was rounded to half) and lies within half's
 *   rounding of the exact product of the half-rounded operands (plus float32 accumulation error);
 * - VJP: the gradient w.r.t. each float operand is within 3 half roundings (operand, scaled
 *   gradient, result) of the exact float64 product, for a gradient of magnitude 1e-7 that half could
 *   not even represent without the per-tensor scaling (its normal range starts at 6.1e-5).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph, GraphSession, halfGemm, halfMatmul, mul, reduceSum, type Tensor } from "../../../gpu-runner/graph/index.js";
import { halfBitsOf, halfTable } from "../../../gpu-runner/models/half.js";
import { rng } from "./reference-nd.js";

/** Unit roundoff of IEEE half (11-bit significand). */
const U = 2 ** -11;
const F32_EPS = 2 ** -24;
const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0]!;
/** x rounded to float32, then to half, as float64. */
const toHalf = (x: number) => halfTable()[halfBitsOf(bitsOf(x))]!;

function randoms(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => scale * (r() * 2 - 1));
}

/** n values of magnitude in [0.5, 1] * scale with random signs. */
function tiny(n: number, seed: number, scale: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => scale * (0.5 + 0.5 * r()) * (r() < 0.5 ? -1 : 1));
}

/** Runs graph `build` (inputs x: float [R,K], w: float16, c: float like the output) and returns the
 * output and d sum(y * c) / d x. */
async function runGemm(R: number, K: number, O: number, transB: 0 | 1, x: Float32Array, w16: Uint16Array, c: Float32Array) {
  const g = new Graph({ dtype: "float32" });
  const xt = g.input("x", [R, K]);
  const wt = g.input("w", transB ? [O, K] : [K, O], "float16");
  const ct = g.input("c", [R, O]);
  const y = halfGemm(xt, wt, transB);
  g.output(y, "y");
  g.output(g.grad(reduceSum(mul(y, ct), [0, 1]), [xt])[0]!, "dx");
  const s = await GraphSession.create(g, { intraOpThreads: 1 });
  const out = await s.run({ x: { data: x, shape: [R, K] }, w: { data: w16, shape: transB ? [O, K] : [K, O], halfType: "float16" }, c: { data: c, shape: [R, O] } });
  await s.release();
  return { y: out["y"]!.data as Float32Array, dx: out["dx"]!.data as Float32Array };
}

function assertHalfValued(y: Float32Array, what: string): void {
  for (let i = 0; i < y.length; i++) assert.equal(toHalf(y[i]!), y[i]!, `${what}[${i}] = ${y[i]} is not a half value`);
}

for (const transB of [1, 0] as const) {
  test(`halfGemm (transB ${transB}): half-rounded product, gradient of 1e-7 within 3 half roundings`, async () => {
    const [R, K, O] = [5, 48, 7];
    const x = randoms(R * K, 1, 3);
    const w16 = Uint16Array.from(randoms(O * K, 2, 0.5), (v) => halfBitsOf(bitsOf(v)));
    const w = (o: number, k: number) => halfTable()[w16[transB ? o * K + k : k * O + o]!]!;
    const c = tiny(R * O, 3, 1e-7);
    const { y, dx } = await runGemm(R, K, O, transB, x, w16, c);
    assertHalfValued(y, "y");
    for (let r = 0; r < R; r++) {
      for (let o = 0; o < O; o++) {
        let exact = 0;
        let abs = 0;
        for (let k = 0; k < K; k++) {
          exact += toHalf(x[r * K + k]!) * w(o, k);
          abs += Math.abs(toHalf(x[r * K + k]!) * w(o, k));
        }
        const err = Math.abs(y[r * O + o]! - exact);
        assert.ok(err <= U * Math.abs(exact) + K * F32_EPS * abs + 2 ** -24, `y[${r},${o}] = ${y[r * O + o]} vs ${exact}`);
      }
      for (let k = 0; k < K; k++) {
        let exact = 0;
        let abs = 0;
        for (let o = 0; o < O; o++) {
          exact += c[r * O + o]! * w(o, k);
          abs += Math.abs(c[r * O + o]! * w(o, k));
        }
        assert.ok(Math.abs(dx[r * K + k]! - exact) <= 3 * U * abs, `dx[${r},${k}] = ${dx[r * K + k]} vs ${exact} (sum |terms| ${abs})`);
      }
    }
  });
}

test("halfMatmul with broadcast batch axes: half-rounded product, gradients of 1e-7 within 3 half roundings", async () => {
  // a [2,3,4,6] @ b [2,1,6,5]: b is shared by the 3 groups (as grouped-query attention's k and v).
  const [B, G, M, K, N] = [2, 3, 4, 6, 5];
  const a = randoms(B * G * M * K, 4, 2);
  const b = randoms(B * K * N, 5, 2);
  const c = tiny(B * G * M * N, 6, 1e-7);
  const g = new Graph({ dtype: "float32" });
  const at: Tensor = g.input("a", [B, G, M, K]);
  const bt: Tensor = g.input("b", [B, 1, K, N]);
  const ct = g.input("c", [B, G, M, N]);
  const y = halfMatmul(at, bt);
  g.output(y, "y");
  const [da, db] = g.grad(reduceSum(mul(y, ct), [0, 1, 2, 3]), [at, bt]);
  g.output(da!, "da");
  g.output(db!, "db");
  const s = await GraphSession.create(g, { intraOpThreads: 1 });
  const out = await s.run({ a: { data: a, shape: [B, G, M, K] }, b: { data: b, shape: [B, 1, K, N] }, c: { data: c, shape: [B, G, M, N] } });
  await s.release();
  const [yv, dav, dbv] = ["y", "da", "db"].map((k) => out[k]!.data as Float32Array);
  assertHalfValued(yv!, "y");
  const A = (bb: number, gg: number, m: number, k: number) => a[((bb * G + gg) * M + m) * K + k]!;
  const Bv = (bb: number, k: number, n: number) => b[(bb * K + k) * N + n]!;
  const C = (bb: number, gg: number, m: number, n: number) => c[((bb * G + gg) * M + m) * N + n]!;
  const dbExact = new Float64Array(B * K * N);
  const dbAbs = new Float64Array(B * K * N);
  for (let bb = 0; bb < B; bb++) {
    for (let gg = 0; gg < G; gg++) {
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let exact = 0;
          let abs = 0;
          for (let k = 0; k < K; k++) {
            exact += toHalf(A(bb, gg, m, k)) * toHalf(Bv(bb, k, n));
            abs += Math.abs(toHalf(A(bb, gg, m, k)) * toHalf(Bv(bb, k, n)));
          }
          const err = Math.abs(yv![((bb * G + gg) * M + m) * N + n]! - exact);
          assert.ok(err <= U * Math.abs(exact) + K * F32_EPS * abs + 2 ** -24, `y[${bb},${gg},${m},${n}]`);
        }
        for (let k = 0; k < K; k++) {
          let exact = 0;
          let abs = 0;
          for (let n = 0; n < N; n++) {
            exact += C(bb, gg, m, n) * Bv(bb, k, n);
            abs += Math.abs(C(bb, gg, m, n) * Bv(bb, k, n));
          }
          const i = ((bb * G + gg) * M + m) * K + k;
          assert.ok(Math.abs(dav![i]! - exact) <= 3 * U * abs, `da[${bb},${gg},${m},${k}] = ${dav![i]} vs ${exact}`);
          for (let n = 0; n < N; n++) {
            dbExact[(bb * K + k) * N + n]! += A(bb, gg, m, k) * C(bb, gg, m, n);
            dbAbs[(bb * K + k) * N + n]! += Math.abs(A(bb, gg, m, k) * C(bb, gg, m, n));
          }
        }
      }
    }
  }
  for (let i = 0; i < dbExact.length; i++) assert.ok(Math.abs(dbv![i]! - dbExact[i]!) <= 3 * U * dbAbs[i]!, `db[${i}] = ${dbv![i]} vs ${dbExact[i]}`);
});
