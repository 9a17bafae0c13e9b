/**
 * f16 compute (LoadOptions.compute "f16": every matrix product in half, norms / softmax /
 * log-softmax / loss / residual stream in float32) on the PyTorch-reference fixtures, against the
 * float32 graph on the same inputs and against the PyTorch float32 references, for logits, FFN
 * neurons, loss, in-graph answer scores and the soft-prompt gradient.
 *
 * Tolerance, a first-order budget from half's rounding (u = 2^-11, its unit roundoff): a half
 * product rounds at most its two operands and its result, 3 roundings of relative size u. The
 * longest path to the logits passes P = 6L + 1 products in sequence (per layer: q/k/v, scores,
 * probabilities x v, o, gate/up, down; then the head), so each output may move by 3Pu of its
 * largest magnitude; the prompt gradient also passes every product backward (scaled gradient,
 * operand and result rounded): 6Pu. Loss and log-probabilities move at most 2 max|d logits|
 * (log-softmax is 2-Lipschitz in the max norm). Not a proof (a layer can amplify what it is given);
 * the fixtures measure 6-16x inside it. A difference below u/8 of the scale would mean the
 * products did not run in half: the float32 graph differs from PyTorch by ~5e-7 of the scale.
 */
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { randomLlamaCheckpoint } from "../../../bench/checkpoints.js";
import { decodeModel } from "../../../gpu-runner/graph/index.js";
import { CheckpointError } from "../../../gpu-runner/hf/errors.js";
import { readTensorIndex } from "../../../gpu-runner/hf/safetensors.js";
import { buildLlamaGraph } from "../../../gpu-runner/models/llama.js";
import { BatchInputError } from "../../../gpu-runner/models/layout.js";
import { createSession, HalfOverflowError, loadModel, type LoadOptions, type RunInput, type RunResult, type SessionOptions } from "../../../gpu-runner/models/session.js";
import type { GraphSpec } from "../../../gpu-runner/models/spec.js";
import { modelFixture, referenceCases } from "../../fixtures/model-references.js";

const U = 2 ** -11;
const cache = mkdtempSync(join(tmpdir(), "skillscope-half-"));
after(() => rmSync(cache, { recursive: true, force: true }));

/** max |a - b| and max |b|. */
function diff(actual: ArrayLike<number>, expected: ArrayLike<number>): { err: number; scale: number } {
  assert.equal(actual.length, expected.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return { err, scale };
}

/** Within `budget` x scale of `expected` (scale: max |expected| unless given) and, for a tensor
 * (a few numbers can land close by chance), farther than u/8 x scale. Returns error / scale. */
function withinHalf(actual: ArrayLike<number>, expected: ArrayLike<number>, budget: number, what: string, scaleOf?: number): number {
  const d = diff(actual, expected);
  const scale = scaleOf ?? d.scale;
  assert.ok(Number.isFinite(d.err) && d.err <= budget * scale, `${what}: max error ${d.err} > ${budget} x ${scale}`);
  if (expected.length >= 16) assert.ok(d.err >= (U / 8) * scale, `${what}: max error ${d.err} is below u/8 of ${scale}: not computed in half?`);
  return d.err / scale;
}

async function runBoth(name: string, load: LoadOptions, options: SessionOptions, input: RunInput): Promise<[RunResult, RunResult]> {
  const out: RunResult[] = [];
  for (const compute of ["f16", "f32"] as const) {
    const s = await createSession(loadModel(modelFixture(name), { ...load, threads: 1, compute }), options);
    out.push(await s.run(input));
    await s.release();
  }
  return out as [RunResult, RunResult];
}

/** float64 log p(target) of a logits row. */
function logProb(row: readonly number[], target: number): number {
  const max = Math.max(...row);
  return row[target]! - max - Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
}

/** Fixtures, and how to load them: the LM head whole, or (a small block size) in row blocks of 5 rows. */
const FIXTURES: [string, Pick<LoadOptions, "headBlockBytes">, string][] = [
  ["gpt2-tiny", {}, ""], ["gpt2-tiny-sharded", {}, ""], ["llama-tiny-gqa", {}, ""], ["qwen2-tiny", {}, ""],
  ["llama-tiny-bf16", {}, ""], ["llama-tiny-bf16", { headBlockBytes: 5 * 32 * 4 }, " (head in 13 blocks)"], ["qwen2-tiny-f16", {}, ""],
];

for (const [name, load, variant] of FIXTURES) {
  test(`${name}${variant}: f16 compute within half's rounding budget of the float32 graph and of PyTorch`, async (t) => {
    const cases = referenceCases(name);
    const { nLayers: L, dFF: F } = loadModel(modelFixture(name)).config;
    const P = 6 * L + 1;
    const soft = cases.filter((c) => c.softPrompt);
    const n = soft[0]!.softPrompt!.length;
    const softPrompt = Float32Array.from(soft[0]!.softPrompt!.flat());
    const worst: Record<string, number> = {};
    const note = (k: string, v: number) => (worst[k] = Math.max(worst[k] ?? 0, v));
    for (const c of soft) {
      const input = { sequences: [{ ids: c.ids, insertAt: c.insertAt!, lossLast: c.gradLast }], softPrompt };
      const [h, f] = await runBoth(name, load, { softPromptLength: n, taps: "all", tapPositions: "all", logits: "all", withPromptGrad: true }, input);
      const logitScale = diff(f.logits!, c.logits.flat()).scale;
      note("logits vs f32", withinHalf(h.logits!, f.logits!, 3 * P * U, `${c.name} logits vs f32`));
      note("logits vs torch", withinHalf(h.logits!, c.logits.flat(), 3 * P * U, `${c.name} logits vs PyTorch`));
      for (let l = 0; l < L; l++) {
        note("ffn vs f32", withinHalf(h.ffn.get(l)!, f.ffn.get(l)!, 3 * P * U, `${c.name} ffn ${l} vs f32`));
        note("ffn vs torch", withinHalf(h.ffn.get(l)!, c.ffn[l]!.flat(), 3 * P * U, `${c.name} ffn ${l} vs PyTorch`));
      }
      assert.equal(h.ffn.get(0)!.length, c.positions * F);
      note("loss vs torch", withinHalf([h.loss!], [c.loss], 2 * 3 * P * U, `${c.name} loss vs PyTorch`, logitScale));
      note("grad vs f32", withinHalf(h.promptGrad!, f.promptGrad!, 6 * P * U, `${c.name} prompt grad vs f32`));
      note("grad vs torch", withinHalf(h.promptGrad!, c.promptGrad!.flat(), 6 * P * U, `${c.name} prompt grad vs PyTorch`));

      // In-graph answer scores (f32 log-softmax over V) vs a float64 log-softmax of PyTorch's logits.
      const [hs] = await runBoth(name, load, { softPromptLength: n, logits: "scores" }, input);
      const lay = hs.layout;
      const expected = Array.from(lay.lossPos, (pos, q) => logProb(c.logits[Number(pos)]!, Number(lay.lossTargets[q])));
      note("scores vs torch", withinHalf(hs.scores!.targetLogProb, expected, 2 * 3 * P * U, `${c.name} answer log-probs vs PyTorch`, logitScale));
      assert.equal(hs.scores!.targetLogProb.length, c.gradLast);
    }
    t.diagnostic(`${name}${variant} (L = ${L}, budget 3Pu = ${(3 * P * U).toExponential(2)}): worst relative errors ${JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, Number(v.toExponential(2))])))}`);
  });
}

test("the f16 graph reads every matrix weight as float16 with no cast (and the f32 graph of an F16 checkpoint casts them)", () => {
  for (const compute of ["f16", "f32"] as const) {
    const model = loadModel(modelFixture("qwen2-tiny-f16"), { compute });
    const spec: GraphSpec = { softLength: 2, compute, tapLayers: [], tapPositions: "all", logits: "all", withLoss: true, withPromptGrad: true };
    const graph = buildLlamaGraph(model, model.weights, spec);
    const proto = decodeModel(graph.toBytes()).graph;
    const matrices = new Set(graph.weights().filter((w) => w.shape.length === 2).map((w) => w.name));
    // Casts whose output something reads (ORT drops the others, e.g. of an embedding table only gathered from).
    const read = new Set([...proto.node.flatMap((nd) => nd.input), ...proto.output.map((o) => o.name)]);
    const castMatrices = proto.node.filter((nd) => nd.op_type === "Cast" && matrices.has(nd.input[0]!) && read.has(nd.output[0]!)).length;
    const gemmMatrices = proto.node.filter((nd) => nd.op_type === "Gemm" && nd.input.some((i) => matrices.has(i))).length;
    const types = new Map(proto.input.map((i) => [i.name, i.type.tensor_type.elem_type]));
    if (compute === "f16") {
      // q, k, v, o, gate, up, down per layer and the tied head, forward and (for dx) backward, read the fed weight.
      assert.ok(gemmMatrices >= 2 * (7 * model.config.nLayers + 1), `${gemmMatrices} Gemm nodes read a matrix weight`);
      assert.equal(castMatrices, 0, "no matrix weight is cast");
      for (const m of matrices) assert.equal(types.get(m), 10, `${m} is fed as float16`);
    } else {
      assert.ok(castMatrices >= 7 * model.config.nLayers, `f32 compute casts the F16 matrices (${castMatrices})`);
    }
  }
});

const TINY_LLAMA = { modelType: "llama", vocabSize: 64, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 2, dFF: 32, tieWordEmbeddings: false, ropeTheta: 10000, maxPositions: 64 } as const;

/** Overwrites the first `count` floats of an F32 tensor of a single-file checkpoint with `value`. */
function setFloats(dir: string, name: string, value: number, count: number): void {
  const info = readTensorIndex(dir).tensors.get(name)!;
  const fd = openSync(info.path, "r+");
  writeSync(fd, new Uint8Array(new Float32Array(count).fill(value).buffer), 0, 4 * count, info.offset);
  closeSync(fd);
}

test("f16 compute: a weight beyond float16's range and a conflicting weight precision are clear errors", async () => {
  assert.throws(() => loadModel(modelFixture("gpt2-tiny"), { compute: "f16", weights: "float32" }), BatchInputError);
  assert.throws(() => loadModel(modelFixture("gpt2-tiny"), { compute: "f32", weights: "float16" }), BatchInputError);
  const { dir } = randomLlamaCheckpoint("big", TINY_LLAMA, "F32", 3, cache);
  setFloats(dir, "model.layers.0.mlp.down_proj.weight", 70000, 1);
  const ok = await createSession(loadModel(dir, { compute: "f32" }), { logits: "last" });
  await ok.release();
  await assert.rejects(createSession(loadModel(dir, { compute: "f16" }), { logits: "last" }), (e: unknown) => e instanceof CheckpointError && /down_proj.*70000.*float16's range/.test(e.message));
});

test("f16 compute: a product beyond float16's range is a clear error, where float32 compute stays finite", async () => {
  // Final norm weight 300 and every LM head weight 60000 (half values): each logit is 1.8e7 x the sum of
  // the normalised hidden state's 16 entries, beyond 65504 unless that sum is below 3.6e-3.
  const { dir } = randomLlamaCheckpoint("overflow", TINY_LLAMA, "F32", 4, cache);
  setFloats(dir, "model.norm.weight", 300, TINY_LLAMA.dModel);
  setFloats(dir, "lm_head.weight", 60000, TINY_LLAMA.vocabSize * TINY_LLAMA.dModel);
  const input = { sequences: [{ ids: [1, 2, 3, 4, 5, 6], lossLast: 2 }] };
  const f32 = await createSession(loadModel(dir, { compute: "f32" }), { withLoss: true, logits: "all" });
  const ok = await f32.run(input);
  assert.ok(Number.isFinite(ok.loss!) && ok.logits!.every(Number.isFinite));
  await f32.release();
  const f16 = await createSession(loadModel(dir, { compute: "f16" }), { withLoss: true, logits: "all" });
  await assert.rejects(f16.run(input), (e: unknown) => e instanceof HalfOverflowError && /float16's range.*compute f32/.test(e.message));
  await f16.release();
});
