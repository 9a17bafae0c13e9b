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

test("external-data parameters read F32/F16/BF16 byte ranges of a file in the model folder", async () => {
  const folder = mkdtempSync(join(tmpdir(), "graph-ext-"));
  try {
    // A file laid out like a safetensors payload: a junk header, then three tensors.
    const values = [1, -2, 0.5, 3];
    const header = Buffer.alloc(24, 0xab);
    const f32 = Buffer.from(Float32Array.from(values).buffer);
    const f16 = Buffer.from(Uint16Array.from(values.map((v) => F16[v])).buffer);
    const bf16 = Buffer.from(Uint16Array.from(values.map((v) => BF16[v])).buffer);
    writeFileSync(join(folder, "weights.bin"), Buffer.concat([header, f32, f16, bf16]));
    for (const dtype of ["float32", "float64"] as const) {
      const g = new G.Graph({ dtype });
      const a = g.externalParam("a", { location: "weights.bin", offset: 24, length: 16, dtype: "F32", shape: [2, 2] });
      const b = g.externalParam("b", { location: "weights.bin", offset: 40, length: 8, dtype: "F16", shape: [2, 2] });
      const c = g.externalParam("c", { location: "weights.bin", offset: 48, length: 8, dtype: "BF16", shape: [4] });
      const x = g.input("x", [2]);
      g.output(G.add(a, x), "ax");
      g.output(b, "b");
      g.output(c, "c");
      const s = await G.GraphSession.create(g, { modelFolder: folder });
      const out = await s.run({ x: { data: dtype === "float32" ? Float32Array.of(10, 20) : Float64Array.of(10, 20), shape: [2] } });
      assert.deepEqual(nums(out.ax.data), [11, 18, 10.5, 23], dtype);
      assert.deepEqual(nums(out.b.data), values, dtype);
      assert.deepEqual(nums(out.c.data), values, dtype);
      assert.equal(out.c.data instanceof (dtype === "float32" ? Float32Array : Float64Array), true);
      await s.release();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test("external data outside the model folder and bad byte ranges are refused", async () => {
  const g = new G.Graph({ dtype: "float32" });
  assert.throws(() => g.externalParam("w", { location: "w.bin", offset: 0, length: 12, dtype: "F32", shape: [2, 2] }), G.GraphBuildError);
  assert.throws(() => g.externalParam("w", { location: "../w.bin", offset: 0, length: 16, dtype: "F32", shape: [2, 2] }), /relative to the model folder/);
  assert.throws(() => g.externalParam("w", { location: "/abs/w.bin", offset: 0, length: 16, dtype: "F32", shape: [2, 2] }), /relative to the model folder/);
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
