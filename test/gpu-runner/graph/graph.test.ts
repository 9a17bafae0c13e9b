/** Graph builder: external-data parameters, serialization round trip, grad pruning and fan-out,
 * and the typed errors for bad input. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as G from "../../../gpu-runner/graph/index.js";

/** Values of a float output as numbers. */
function nums(data: G.TensorValue["data"]): number[] {
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

/** IEEE half and bfloat16 encodings of exactly representable values. */
const F16: Record<number, number> = { 1: 0x3c00, [-2]: 0xc000, 0.5: 0x3800, 3: 0x4200 };
const BF16: Record<number, number> = { 1: 0x3f80, [-2]: 0xc000, 0.5: 0x3f00, 3: 0x4040 };

test("weights are fed in their stored type (F32, F16, BF16 bits), cast where used, gathered before the cast", async () => {
  const values = [1, -2, 0.5, 3];
  const g = new G.Graph({ dtype: "float32" });
  const a = g.weight("a", "F32", [2, 2]);
  const b = g.weight("b", "F16", [2, 2]);
  const c = g.weight("c", "BF16", [4, 1]);
  const x = g.input("x", [2]);
  const ids = g.input("ids", [3], "int64");
  g.output(G.add(a, x), "ax");
  g.output(b, "bOut");
  g.output(G.add(c, g.recast(c, x)), "c2");
  assert.equal(g.recast(a, x), a, "an F32 weight needs no cast");
  g.output(g.gatherRows(c, ids), "rows");
  g.output(g.gatherRows(a, g.input("ids2", [2], "int64")), "rowsF32");
  assert.deepEqual(g.weights().map((w) => [w.name, w.dtype]), [["a", "F32"], ["b", "F16"], ["c", "BF16"]]);
  const s = await G.GraphSession.create(g, {
    bound: {
      a: { data: Float32Array.from(values), shape: [2, 2] },
      b: { data: Uint16Array.from(values.map((v) => F16[v]!)), shape: [2, 2], halfType: "float16" },
      c: { data: Uint16Array.from(values.map((v) => BF16[v]!)), shape: [4, 1], halfType: "uint16" },
    },
  });
  const out = await s.run({ x: { data: Float32Array.of(10, 20), shape: [2] }, ids: { data: BigInt64Array.of(3n, 0n, 1n), shape: [3] }, ids2: { data: BigInt64Array.of(1n, 0n), shape: [2] } });
  assert.deepEqual(nums(out.ax.data), [11, 18, 10.5, 23]);
  assert.deepEqual(nums(out.bOut.data), values);
  assert.deepEqual(nums(out.c2.data), values.map((v) => 2 * v));
  assert.deepEqual(nums(out.rows.data), [3, 1, -2]);
  assert.deepEqual(out.rowsF32.shape, [2, 2]);
  assert.deepEqual(nums(out.rowsF32.data), [0.5, 3, 1, -2]);
  await s.release();
});

test("nodes no output depends on are left out: a weight read only through gatherRows is never cast whole", async () => {
  const g = new G.Graph({ dtype: "float32" });
  const table = g.weight("table", "BF16", [4, 1]); // weight() emits its cast eagerly
  const x = g.input("x", [2]);
  G.exp(x); // dead: no output reads it
  g.output(G.mul(g.gatherRows(table, g.input("ids", [2], "int64")), 2), "rows");
  const nodes = G.decodeModel(g.toBytes()).graph.node;
  assert.deepEqual(nodes.filter((n) => n.input.includes("table")).map((n) => n.op_type), ["Gather"]);
  assert.deepEqual(nodes.map((n) => n.op_type), ["Gather", "BitCast", "Cast", "Mul", "Identity"]);
  const s = await G.GraphSession.create(g, { bound: { table: { data: Uint16Array.from([1, -2, 0.5, 3].map((v) => BF16[v]!)), shape: [4, 1], halfType: "uint16" } } });
  const out = await s.run({ x: { data: Float32Array.of(1, 2), shape: [2] }, ids: { data: BigInt64Array.of(3n, 1n), shape: [2] } }, ["rows"]);
  assert.deepEqual(nums(out.rows.data), [6, -4]);
  await s.release();
});

test("weights are refused in float64 graphs; Uint16Array feeds need their half type", async () => {
  assert.throws(() => new G.Graph({ dtype: "float64" }).weight("w", "F32", [2]), /float32 graphs only/);
  const g = new G.Graph({ dtype: "float32" });
  g.output(g.weight("w", "F16", [2]), "wOut");
  await assert.rejects(G.GraphSession.create(g, { bound: { w: { data: new Uint16Array(2), shape: [2] } } }), /halfType/);
});

test("serialization round trip: decode(encode(model)) re-encodes identically and runs the same", async () => {
  const g = new G.Graph({ dtype: "float32", name: "roundtrip" });
  const x = g.input("x", ["batch", 3]);
  const w = g.param("w", Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]);
  const y = G.gelu(G.matmul(x, w));
  const loss = G.reduceMean(y, [0, 1]);
  const [dx, dw] = g.grad(loss, [x, w]);
  g.output(y, "y");
  g.output(dx, "dx");
  g.output(dw, "dw");
  const bytes = g.toBytes();
  const model = G.decodeModel(bytes);
  assert.equal(model.ir_version, G.IR_VERSION);
  assert.deepEqual(model.opset_import.map((o) => [o.domain ?? "", o.version]), [["", G.OPSET]]);
  assert.equal(model.graph.name, "roundtrip");
  assert.deepEqual(model.graph.input.map((i) => i.type.tensor_type.shape.dim), [[{ dim_param: "batch" }, { dim_value: 3 }]]);
  assert.deepEqual(model.graph.output.map((o) => o.name), ["y", "dx", "dw"]);
  const winit = model.graph.initializer.find((t) => t.name === "w");
  assert.ok(winit?.raw_data);
  assert.deepEqual(Array.from(new Float32Array(Uint8Array.from(winit.raw_data).buffer)), [1, 2, 3, 4, 5, 6]);
  const again = G.encodeModel(model);
  assert.deepEqual(again, bytes);

  const feeds = { x: { data: Float32Array.of(0.1, -0.2, 0.3, 0.5, 0.4, -0.6), shape: [2, 3] } };
  const s1 = await G.GraphSession.create(bytes);
  const s2 = await G.GraphSession.create(again);
  const [o1, o2] = [await s1.run(feeds), await s2.run(feeds)];
  for (const k of ["y", "dx", "dw"]) assert.deepEqual(nums(o2[k].data), nums(o1[k].data));
  assert.deepEqual([...o1.dw.shape], [3, 2]);
  assert.deepEqual([...o1.dx.shape], [2, 3]);
});

test("grad walks only ops between wrt and loss: a frozen weight gets no backward matmul", () => {
  const build = (wrtWeight: boolean) => {
    const g = new G.Graph({ dtype: "float32" });
    const x = g.input("x", ["batch", "seq", 4]);
    const w = g.param("w", new Float32Array(12), [4, 3]);
    const loss = G.reduceSum(G.matmul(x, w), [0, 1, 2]);
    const grads = g.grad(loss, wrtWeight ? [x, w] : [x]);
    grads.forEach((d, i) => g.output(d, `d${i}`));
    // Gemm(transA=1) is the weight gradient a^T @ g; Gemm(transB=1) the input gradient g @ w^T.
    return G.decodeModel(g.toBytes()).graph.node.map((n) => `${n.op_type}${(n.attribute ?? []).map((a) => `:${a.name}`).join("")}`);
  };
  const frozen = build(false);
  const trained = build(true);
  assert.equal(frozen.filter((op) => op === "Gemm:transA").length, 0);
  assert.equal(trained.filter((op) => op === "Gemm:transA").length, 1);
  assert.equal(frozen.filter((op) => op === "Gemm:transB").length, 1);
  assert.equal(frozen.filter((op) => op === "MatMul").length, 1);
  assert.equal(frozen.filter((op) => op === "Transpose").length, 0);
});

test("grad sums fan-out, and gives zeros for a tensor the loss does not depend on", async () => {
  const g = new G.Graph({ dtype: "float64" });
  const x = g.input("x", [3]);
  const unused = g.input("u", [2]);
  // loss = sum(x*x + 3x) -> d/dx = 2x + 3
  const loss = G.reduceSum(G.add(G.mul(x, x), G.mul(x, 3)), [0]);
  const [dx, du] = g.grad(loss, [x, unused]);
  g.output(dx, "dx");
  g.output(du, "du");
  const s = await G.GraphSession.create(g);
  const out = await s.run({ x: { data: Float64Array.of(1, -2, 0.5), shape: [3] }, u: { data: Float64Array.of(7, 8), shape: [2] } });
  assert.deepEqual(nums(out.dx.data), [5, -1, 4]);
  assert.deepEqual(nums(out.du.data), [0, 0]);
});

test("shape errors are typed and name the op and shapes", () => {
  const g = new G.Graph({ dtype: "float32" });
  const a = g.input("a", [2, 3]);
  const b = g.input("b", [4]);
  const s = g.input("s", ["seq", 3]);
  const t = g.input("t", ["kv", 3]);
  assert.throws(() => G.add(a, b), (e: unknown) => e instanceof G.GraphBuildError && /add: shapes \[2,3\] and \[4\]/.test(e.message));
  assert.throws(() => G.add(s, t), /assumeShape/);
  assert.equal(G.add(s, g.assumeShape(t, ["seq", 3])).shape.join(), "seq,3");
  assert.throws(() => G.matmul(a, a), /inner dims differ/);
  assert.throws(() => G.reshape(a, [4, 2]), /element counts differ/);
  assert.throws(() => G.transpose(a, [0, 0]), /not a permutation/);
  assert.throws(() => g.input("a", [1]), /duplicate tensor name "a"/);
  assert.throws(() => G.gather(a, b), /ids "b" must be int64/);
  const other = new G.Graph({ dtype: "float32" });
  assert.throws(() => G.add(a, other.input("z", [2, 3])), /belongs to another graph/);
  assert.throws(() => g.toBytes.call(new G.Graph({ dtype: "float32" })), /no outputs/);
});

test("asking for CUDA without the CUDA build says how to install it", async (t) => {
  if (G.cudaProviderInstalled()) {
    t.diagnostic("this onnxruntime-node build has CUDA; the missing-provider error cannot occur");
    return;
  }
  const g = new G.Graph({ dtype: "float32" });
  g.output(g.input("x", [1]), "y");
  await assert.rejects(G.GraphSession.create(g, { executionProvider: "cuda" }), (e: unknown) => e instanceof G.ExecutionProviderError && /npm install-scripts approve onnxruntime-node && npm rebuild onnxruntime-node/.test(e.message));
});
