/**
 * float32 -> half rounding (halfBitsOf) against two oracles: the IEEE decoding table (every half
 * round-trips; midpoints between neighbours go to the even one, anything off the midpoint to the
 * nearer one) and onnxruntime's own Cast float -> float16 on a million random float32 bit patterns.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Graph, GraphSession } from "../../../gpu-runner/graph/index.js";
import { halfBitsOf, halfTable } from "../../../gpu-runner/models/half.js";
import { rng } from "../graph/reference-nd.js";

const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0]!;
const nextUp = (x: number) => new Float32Array(Uint32Array.of(bitsOf(x) + 1).buffer)[0]!; // x > 0
const nextDown = (x: number) => new Float32Array(Uint32Array.of(bitsOf(x) - 1).buffer)[0]!; // x > 0

test("every half round-trips; ties go to even, the rest to the nearer half; 65520 overflows", () => {
  const t = halfTable();
  for (let h = 0; h < 0x10000; h++) {
    if (Number.isNaN(t[h]!)) assert.equal(halfBitsOf(bitsOf(t[h]!)) & 0x7e00, 0x7e00, `NaN ${h}`);
    else assert.equal(halfBitsOf(bitsOf(t[h]!)), h, `half ${h.toString(16)} = ${t[h]}`);
  }
  const negated = (x: number) => halfBitsOf(bitsOf(-x)) ^ 0x8000;
  for (let h = 0; h < 0x7bff; h++) {
    const [lo, hi] = [t[h]!, t[h + 1]!];
    const mid = (lo + hi) / 2; // exact in float32: halves carry 11 significant bits
    assert.equal(Math.fround(mid), mid);
    for (const [x, want] of [[mid, h % 2 === 0 ? h : h + 1], [nextDown(mid), h], [nextUp(mid), h + 1]] as const) {
      assert.equal(halfBitsOf(bitsOf(x)), want, `${x} between ${lo} and ${hi}`);
      assert.equal(negated(x), want, `-${x} between -${lo} and -${hi}`);
    }
  }
  assert.equal(halfBitsOf(bitsOf(65519.99)), 0x7bff);
  assert.equal(halfBitsOf(bitsOf(65520)), 0x7c00);
  assert.equal(halfBitsOf(bitsOf(-1e9)), 0xfc00);
  assert.equal(halfBitsOf(bitsOf(2 ** -25)), 0, "half the smallest subnormal ties to zero");
  assert.equal(halfBitsOf(bitsOf(nextUp(2 ** -25))), 1);
});

test("halfBitsOf equals onnxruntime's Cast float -> float16 on random float32 bit patterns", async () => {
  const n = 1 << 20;
  const r = rng(7);
  const bits = Uint32Array.from({ length: n }, (_, i) => {
    // Half of them near half's range (|x| in 2^-26 .. 2^17), half anywhere.
    if (i % 2 === 0) return (Math.floor(r() * 2 ** 32) >>> 0) & 0x807fffff | ((101 + Math.floor(r() * 43)) << 23);
    return Math.floor(r() * 2 ** 32) >>> 0;
  });
  const g = new Graph({ dtype: "float32" });
  const x = g.input("x", [n]);
  g.output(g.emit("Cast", [x], { to: g.onnxType("float16") }, { shape: [n], dtype: "float16" }), "h");
  const s = await GraphSession.create(g, { intraOpThreads: 1 });
  const out = (await s.run({ x: { data: new Float32Array(bits.buffer), shape: [n] } }))["h"]!.data as Uint16Array;
  await s.release();
  let compared = 0;
  for (let i = 0; i < n; i++) {
    const isNaN = ((bits[i]! >>> 23) & 0xff) === 0xff && (bits[i]! & 0x7fffff) !== 0;
    if (isNaN) continue; // NaN payloads are not specified
    assert.equal(halfBitsOf(bits[i]!), out[i]!, `bits ${bits[i]!.toString(16)}`);
    compared++;
  }
  assert.ok(compared > n * 0.99);
});
