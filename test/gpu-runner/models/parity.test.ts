/**
 * Model graphs vs the PyTorch references of test/fixtures/models (make_models.py): logits, FFN
 * neurons, loss and soft-prompt gradient within 1e-4 of the largest reference magnitude; padded
 * batches equal single sequences; gathered outputs equal the matching rows of full outputs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createSession, loadModel, type LoadedModel, type LoadOptions, type RunResult } from "../../../gpu-runner/models/session.js";
import { modelFixture, referenceCases, type ReferenceCase } from "../../fixtures/model-references.js";

/** Fixture and how to load it: half-precision weights kept as stored (cast in the graph, the LM head
 * also in row blocks of 5 rows) or widened to float32 at load. */
const FIXTURES: [string, LoadOptions, string][] = [
  ["gpt2-tiny", {}, ""], ["gpt2-tiny-sharded", {}, ""], ["llama-tiny-gqa", {}, ""], ["qwen2-tiny", {}, ""],
  ["llama-tiny-bf16", {}, ""], ["llama-tiny-bf16", { headBlockBytes: 5 * 32 * 4 }, " (head in 13 blocks)"], ["llama-tiny-bf16", { weights: "float32" }, " (widened to float32)"],
  ["qwen2-tiny-f16", {}, ""], ["qwen2-tiny-f16", { headBlockBytes: 5 * 32 * 4 }, " (tied head in 13 blocks)"], ["qwen2-tiny-f16", { weights: "float32" }, " (widened to float32)"],
];

/** max |a - b| <= 1e-4 * max |b|, element counts equal. */
function close(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  assert.ok(Number.isFinite(worst) && worst <= 1e-4 * scale, `${what}: max error ${worst} vs scale ${scale}`);
}

/** Rows [t0, t1) of sequence b from a [B,T,W] output. */
function seqRows(a: Float32Array, b: number, T: number, W: number, t1: number): Float32Array {
  return a.subarray(b * T * W, b * T * W + t1 * W);
}

function checkAgainst(model: LoadedModel, r: RunResult, b: number, c: ReferenceCase, layers: number[], where: string): void {
  const { vocabSize: V, dFF: F } = model.config;
  const T = r.layout.seqLen;
  assert.equal(r.layout.lengths[b], c.positions, `${where}: positions`);
  close(seqRows(r.logits!, b, T, V, c.positions), c.logits.flat(), `${where} logits`);
  for (const l of layers) close(seqRows(r.ffn.get(l)!, b, T, F, c.positions), c.ffn[l]!.flat(), `${where} ffn layer ${l}`);
}

for (const [name, options, variant] of FIXTURES) {
  test(`${name}${variant}: parity with PyTorch, padded batches, gathered outputs`, async () => {
    const dir = modelFixture(name);
    const cases = referenceCases(name);
    const model = loadModel(dir, { threads: 1, ...options });
    const L = model.config.nLayers;
    const all = Array.from({ length: L }, (_, i) => i);
    const plain = cases.filter((c) => !c.softPrompt);
    const soft = cases.filter((c) => c.softPrompt);
    assert.ok(plain.length >= 2 && soft.length >= 2);

    // Plain sequences: one padded batch of different lengths, loss over both sequences' targets.
    const s0 = await createSession(model, { taps: "all", tapPositions: "all", logits: "all", withLoss: true });
    const batch = await s0.run({ sequences: plain.map((c) => ({ ids: c.ids, lossLast: c.gradLast })) });
    plain.forEach((c, b) => checkAgainst(model, batch, b, c, all, `${name} ${c.name} (batched)`));
    for (const [b, c] of plain.entries()) {
      const single = await s0.run({ sequences: [{ ids: c.ids, lossLast: c.gradLast }] });
      checkAgainst(model, single, 0, c, all, `${name} ${c.name} (single)`);
      close([single.loss!], [c.loss], `${name} ${c.name} loss`);
      close(single.logits!, Array.from(seqRows(batch.logits!, b, batch.layout.seqLen, model.config.vocabSize, c.positions)), "padded batch = single");
    }
    // Batch loss = mean over all targets = weighted mean of per-sequence losses.
    const nTargets = plain.reduce((a, c) => a + c.gradLast, 0);
    close([batch.loss!], [plain.reduce((a, c) => a + c.loss * c.gradLast, 0) / nTargets], `${name} batch loss`);
    await s0.release();

    // Soft prompt: same prompt, different insert points and lengths in one batch.
    const n = soft[0]!.softPrompt!.length;
    const prompt = Float32Array.from(soft[0]!.softPrompt!.flat());
    const seqs = soft.map((c) => ({ ids: c.ids, insertAt: c.insertAt!, lossLast: c.gradLast }));
    const s1 = await createSession(model, { softPromptLength: n, taps: "all", tapPositions: "all", logits: "all", withPromptGrad: true });
    for (const [b, c] of soft.entries()) {
      assert.deepEqual(c.softPrompt!.flat(), soft[0]!.softPrompt!.flat(), "fixtures share one prompt");
      const single = await s1.run({ sequences: [seqs[b]!], softPrompt: prompt });
      checkAgainst(model, single, 0, c, all, `${name} ${c.name}`);
      close([single.loss!], [c.loss], `${name} ${c.name} loss`);
      close(single.promptGrad!, c.promptGrad!.flat(), `${name} ${c.name} prompt grad`);
    }
    const sb = await s1.run({ sequences: seqs, softPrompt: prompt });
    soft.forEach((c, b) => checkAgainst(model, sb, b, c, all, `${name} ${c.name} (batched)`));
    // Gradient of the batch mean = target-weighted mean of the per-sequence gradients.
    const tot = soft.reduce((a, c) => a + c.gradLast, 0);
    const expectGrad = soft[0]!.promptGrad!.flat().map((_, i) => soft.reduce((a, c) => a + c.promptGrad!.flat()[i]! * c.gradLast, 0) / tot);
    close(sb.promptGrad!, expectGrad, `${name} batched prompt grad`);
    await s1.release();

    // Extraction-style session: taps at soft positions only, logits at loss positions / last position.
    const layers = [L - 1];
    const s2 = await createSession(model, { softPromptLength: n, taps: layers, logits: "loss" });
    const ex = await s2.run({ sequences: seqs, softPrompt: prompt });
    const { dFF: F, vocabSize: V } = model.config;
    soft.forEach((c, b) => {
      const k = c.insertAt!;
      close(ex.ffn.get(L - 1)!.subarray(b * n * F, (b + 1) * n * F), c.ffn[L - 1]!.slice(k, k + n).flat(), `${name} ${c.name} soft taps`);
    });
    let row = 0;
    soft.forEach((c) => {
      for (let j = 0; j < c.gradLast; j++, row++) {
        close(ex.logits!.subarray(row * V, (row + 1) * V), c.logits[c.positions - c.gradLast - 1 + j]!, `${name} ${c.name} loss-position logits`);
      }
    });
    assert.equal(ex.loss, undefined);
    await s2.release();
    const s3 = await createSession(model, { softPromptLength: n, logits: "last" });
    const last = await s3.run({ sequences: seqs, softPrompt: prompt });
    soft.forEach((c, b) => close(last.logits!.subarray(b * V, (b + 1) * V), c.logits[c.positions - 1]!, `${name} ${c.name} last logits`));
    await s3.release();
  });
}
