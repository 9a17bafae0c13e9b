/**
 * FFN intervention inputs of the model graphs: default values are bit-identical to the plain graphs
 * (which match the PyTorch references), an intervention equals the matching weight edit, and the
 * soft-position mask confines it to the soft positions.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readTensor, readTensorIndex } from "../../../gpu-runner/hf/safetensors.js";
import { createSession, loadModel, type RunResult } from "../../../gpu-runner/models/session.js";
import { safetensorsBytes } from "../../../gpu-runner/pretrain/checkpoint.js";
import { modelFixture, referenceCases } from "../../fixtures/model-references.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const FIXTURES = ["gpt2-tiny", "llama-tiny-gqa", "qwen2-tiny", "llama-tiny-bf16"];
const PLANTED = join(root, "test/fixtures/planted/model");
const tmp = mkdtempSync(join(tmpdir(), "skillscope-intervention-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function sameBits(a: Float32Array | undefined, b: Float32Array | undefined, what: string): void {
  assert.ok(a && b, `${what}: missing`);
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
}

/** max |a - b| <= tol * max |b| */
function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  assert.ok(worst <= tol * scale, `${what}: max error ${worst} vs scale ${scale}`);
}

for (const name of FIXTURES) {
  test(`${name}: intervention inputs at their defaults are bit-identical to the plain graph and match PyTorch`, async () => {
    const dir = modelFixture(name);
    const soft = referenceCases(name).filter((c) => c.softPrompt);
    const model = loadModel(dir, { threads: 1 });
    const { nLayers: L, dFF: F, vocabSize: V } = model.config;
    const all = Array.from({ length: L }, (_, i) => i);
    const n = soft[0]!.softPrompt!.length;
    const prompt = Float32Array.from(soft[0]!.softPrompt!.flat());
    const seqs = soft.map((c) => ({ ids: c.ids, insertAt: c.insertAt!, lossLast: c.gradLast }));
    const base = { softPromptLength: n, taps: "all" as const, tapPositions: "all" as const, logits: "all" as const, withPromptGrad: true };
    const plain = await createSession(model, base);
    const withIv = await createSession(model, { ...base, intervene: { layers: all, positions: "all" } });
    const p = await plain.run({ sequences: seqs, softPrompt: prompt });
    const runs: RunResult[] = [
      await withIv.run({ sequences: seqs, softPrompt: prompt }),
      await withIv.run({ sequences: seqs, softPrompt: prompt, intervention: { scale: new Float32Array(L * F).fill(1), offset: new Float32Array(seqs.length * L * F) } }),
    ];
    for (const [i, r] of runs.entries()) {
      sameBits(r.logits, p.logits, `${name} run ${i} logits`);
      for (const l of all) sameBits(r.ffn.get(l), p.ffn.get(l), `${name} run ${i} ffn ${l}`);
      sameBits(Float32Array.of(r.loss!), Float32Array.of(p.loss!), `${name} run ${i} loss`);
      sameBits(r.promptGrad, p.promptGrad, `${name} run ${i} prompt grad`);
    }
    const T = runs[0]!.layout.seqLen;
    soft.forEach((c, b) => {
      close(runs[0]!.logits!.subarray(b * T * V, b * T * V + c.positions * V), c.logits.flat(), 1e-4, `${name} ${c.name} logits vs PyTorch`);
      for (const l of all) close(runs[0]!.ffn.get(l)!.subarray(b * T * F, b * T * F + c.positions * F), c.ffn[l]!.flat(), 1e-4, `${name} ${c.name} ffn ${l} vs PyTorch`);
    });
    await plain.release();
    await withIv.release();
  });
}

/**
 * Copy of the planted checkpoint with its down projection edited: row j1 scaled by s, row j2 zeroed
 * with c * row j2 folded into the bias. Equivalent to a_j1 -> s * a_j1 and a_j2 -> c at every position.
 */
function editedPlanted(j1: number, s: number, j2: number, c: number): string {
  const index = readTensorIndex(PLANTED);
  const tensors = [...index.tensors.values()].map((info) => ({ name: info.name, shape: info.shape, data: readTensor(info) }));
  const w = tensors.find((t) => t.name === "h.0.mlp.c_proj.weight")!; // [F, d]: Conv1D [in, out]
  const bias = tensors.find((t) => t.name === "h.0.mlp.c_proj.bias")!;
  const d = w.shape[1]!;
  for (let k = 0; k < d; k++) {
    w.data[j1 * d + k]! *= s;
    bias.data[k]! += c * w.data[j2 * d + k]!;
    w.data[j2 * d + k] = 0;
  }
  const dir = join(tmp, `edited-${j1}-${j2}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "model.safetensors"), safetensorsBytes(tensors));
  for (const f of ["config.json", "tokenizer.json"]) copyFileSync(join(PLANTED, f), join(dir, f));
  return dir;
}

const SEQS = [{ ids: [1, 5, 9, 12, 7, 30, 3], insertAt: 4, lossLast: 2 }, { ids: [1, 40, 22, 8], insertAt: 2, lossLast: 1 }];

test("scaling one neuron and clamping another at every position equals the matching edit of the down projection", async () => {
  const j1 = 7, s = 2.5, j2 = 20, c = 0.75;
  const original = loadModel(PLANTED, { threads: 1 });
  const edited = loadModel(editedPlanted(j1, s, j2, c), { threads: 1 });
  const F = original.config.dFF;
  const n = 3;
  const prompt = Float32Array.from({ length: n * original.config.dModel }, (_, i) => Math.sin(i * 0.37));
  const opts = { softPromptLength: n, logits: "all" as const, withLoss: true, taps: [0], tapPositions: "all" as const };
  const iv = await createSession(original, { ...opts, intervene: { layers: [0], positions: "all" } });
  const ref = await createSession(edited, opts);
  const scale = new Float32Array(F).fill(1);
  scale[j1] = s;
  scale[j2] = 0;
  const offset = new Float32Array(F);
  offset[j2] = c;
  const a = await iv.run({ sequences: SEQS, softPrompt: prompt, intervention: { scale, offset } });
  const b = await ref.run({ sequences: SEQS, softPrompt: prompt });
  const T = a.layout.seqLen;
  const V = original.config.vocabSize;
  SEQS.forEach((_, q) => {
    const len = a.layout.lengths[q]!;
    close(a.logits!.subarray(q * T * V, q * T * V + len * V), b.logits!.subarray(q * T * V, q * T * V + len * V), 1e-5, `sequence ${q} logits`);
    for (let t = 0; t < len; t++) {
      const o = (q * T + t) * F;
      assert.ok(Math.abs(a.ffn.get(0)![o + j1]! - s * b.ffn.get(0)![o + j1]!) < 1e-5, `tap of the scaled neuron at ${q},${t}`);
      assert.equal(a.ffn.get(0)![o + j2], c);
      assert.equal(a.ffn.get(0)![o + 3], b.ffn.get(0)![o + 3]);
    }
  });
  close([a.loss!], [b.loss!], 1e-6, "loss");
  await iv.release();
  await ref.release();
});

test("soft-position interventions touch only the soft positions and take per-sequence offsets", async () => {
  const model = loadModel(PLANTED, { threads: 1 });
  const F = model.config.dFF;
  const V = model.config.vocabSize;
  const n = 3;
  const prompt = Float32Array.from({ length: n * model.config.dModel }, (_, i) => Math.cos(i * 0.11));
  const opts = { softPromptLength: n, logits: "all" as const, taps: [0], tapPositions: "all" as const };
  const plain = await createSession(model, opts);
  const iv = await createSession(model, { ...opts, intervene: { layers: [0] } });
  const scale = new Float32Array(F).fill(1);
  scale[7] = 0;
  const offset = new Float32Array(2 * F);
  offset[7] = -1.5; // sequence 0
  offset[F + 7] = 2; // sequence 1
  const a = await iv.run({ sequences: SEQS, softPrompt: prompt, intervention: { scale, offset } });
  const p = await plain.run({ sequences: SEQS, softPrompt: prompt });
  const T = a.layout.seqLen;
  let moved = 0;
  SEQS.forEach((s, q) => {
    const k = s.insertAt;
    for (let t = 0; t < a.layout.lengths[q]!; t++) {
      const o = (q * T + t) * F;
      const isSoft = t >= k && t < k + n;
      assert.equal(a.ffn.get(0)![o + 7], isSoft ? [-1.5, 2][q] : p.ffn.get(0)![o + 7], `neuron 7 of sequence ${q} at ${t}`);
      const la = a.logits!.subarray((q * T + t) * V, (q * T + t + 1) * V);
      const lp = p.logits!.subarray((q * T + t) * V, (q * T + t + 1) * V);
      // causal: positions before the soft prompt are untouched, bit for bit
      if (t < k) assert.deepEqual(la, lp, `logits of sequence ${q} at ${t} before the prompt`);
      else for (let v = 0; v < V; v++) moved = Math.max(moved, Math.abs(la[v]! - lp[v]!));
    }
  });
  assert.ok(moved > 1e-3, `the intervention moved later logits by ${moved}`);
  await assert.rejects(plain.run({ sequences: SEQS, softPrompt: prompt, intervention: { scale } }), /without intervene/);
  await assert.rejects(iv.run({ sequences: SEQS, softPrompt: prompt, intervention: { scale: new Float32Array(3) } }), /intervention.scale/);
  await assert.rejects(createSession(model, { intervene: { layers: [0] } }), /needs a soft prompt/);
  await assert.rejects(createSession(model, { softPromptLength: 2, intervene: { layers: [1] } }), /intervene.layers/);
  await plain.release();
  await iv.release();
});
