/**
 * Runner bench: soft-prompt training steps/s (trainPrompt over our ONNX graphs) and extraction samples/s
 * (extract with every layer tapped at the soft positions) against PyTorch doing the same prompt training
 * (Adam on the prompt) and a hooked forward, on the same random 4-layer checkpoint file and the same rows.
 * Checked before the figures count: the first training step's loss agrees (1e-3 relative) and the
 * first extraction batch's activations agree (1e-3 of their largest value) with the same prompt.
 * Threads: SKILLSCOPE_BENCH_THREADS (default 2) on both sides.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extract, type ActivationBatch } from "../gpu-runner/extract/extract.js";
import { resolveLayout, type EncodedSample } from "../gpu-runner/train/layout.js";
import { openOnnxPromptModel } from "../gpu-runner/train/onnx-prompt-model.js";
import { Rng } from "../gpu-runner/train/rng.js";
import { initPrompt, trainPrompt, type TrainConfig } from "../gpu-runner/train/train.js";
import { GPT2_MINI, randomGpt2Checkpoint } from "./checkpoints.js";
import { readF32, relMaxError, runPythonPeer } from "./peers/peer.js";
import type { BenchResult } from "./result.js";

const PROMPT_LENGTH = 20;
const TRAIN_ROWS = 8;
const VAL_ROWS = 64;
const EXTRACT_BATCH = 16;
const WARMUP_STEPS = 2;
const STEPS = 12;
const LR = 3e-2;
const SEED = 5;

interface PeerResult {
  trainSeconds: number;
  losses: number[];
  extractSeconds: number;
  extractRows: number;
  peakRssMb: number;
}

/** Synthetic rows: instructions of 30-70 random tokens, answers of 1-3 tokens. */
function makeRows(count: number, vocab: number, rng: Rng): EncodedSample[] {
  return Array.from({ length: count }, () => ({
    instructionIds: Array.from({ length: 30 + rng.int(41) }, () => rng.int(vocab)),
    answerIds: Array.from({ length: 1 + rng.int(3) }, () => rng.int(vocab)),
  }));
}

export async function benchRun(): Promise<BenchResult> {
  const threads = Number(process.env.SKILLSCOPE_BENCH_THREADS ?? 2);
  const notes: string[] = [];
  const t0 = performance.now();
  const ckpt = randomGpt2Checkpoint("gpt2-mini-random", GPT2_MINI, 2);
  if (ckpt.created) notes.push(`wrote the random checkpoint ${ckpt.dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s (cached for later runs)`);

  const rng = Rng.fromSeed(9);
  const train = makeRows(TRAIN_ROWS, GPT2_MINI.vocabSize, rng);
  const val = makeRows(VAL_ROWS, GPT2_MINI.vocabSize, rng);
  const layout = resolveLayout({ promptLength: PROMPT_LENGTH });
  // One batch holds the whole training set, so both sides take the same steps whatever their order.
  const config: Partial<TrainConfig> = { seed: SEED, init: { kind: "normal", scale: 0.5 }, adam: { lr: LR }, batchSize: TRAIN_ROWS, evalEvery: 0 };
  const { model } = openOnnxPromptModel(ckpt.dir, { threads });
  const dir = mkdtempSync(join(tmpdir(), "skillscope-bench-run-"));
  try {
    // trainPrompt draws its initial prompt first from Rng.fromSeed(seed): the peer starts from the same one.
    const init = await initPrompt(model, PROMPT_LENGTH, { kind: "normal", scale: 0.5 }, Rng.fromSeed(SEED));
    await trainPrompt(model, { train, val: [] }, layout, { ...config, maxSteps: WARMUP_STEPS });
    const losses: number[] = [];
    let t = performance.now();
    const trained = await trainPrompt(model, { train, val: [] }, layout, { ...config, maxSteps: STEPS }, { onProgress: (p) => losses.push(p.loss) });
    const trainSeconds = (performance.now() - t) / 1000;

    const extractConfig = { batchSize: EXTRACT_BATCH, layers: "all" as const, positions: "soft" as const, decoding: "teacher-forced" as const };
    const decode = (ids: readonly number[]) => ids.join(" ");
    await extract(model, val.slice(0, EXTRACT_BATCH), layout, trained.finalPrompt, extractConfig, { decode });
    const firstBatch: ActivationBatch[] = [];
    t = performance.now();
    await extract(model, val, layout, trained.finalPrompt, extractConfig, {
      decode, onActivations: (a) => { if (a.batchId === 0) firstBatch.push(a); },
    });
    const extractSeconds = (performance.now() - t) / 1000;

    const file = (name: string, data?: Float32Array) => {
      const f = join(dir, name);
      if (data) writeFileSync(f, data);
      return f;
    };
    const spec = {
      model: ckpt.dir, threads, lr: LR, warmupSteps: WARMUP_STEPS, steps: STEPS, extractBatch: EXTRACT_BATCH,
      train: train.map((r) => ({ instr: Array.from(r.instructionIds), answer: Array.from(r.answerIds) })),
      val: val.map((r) => ({ instr: Array.from(r.instructionIds), answer: Array.from(r.answerIds) })),
      prompt: file("init.f32", init), extractPrompt: file("trained.f32", trained.finalPrompt), tapsOut: file("taps-torch.f32"),
    };
    writeFileSync(file("spec.json"), JSON.stringify(spec));
    const peer = runPythonPeer<PeerResult>("run_peer.py", file("spec.json"), threads);

    // ours [b, n, F] per layer, stacked to the peer's [L, b, n, F]
    const ourTaps = new Float32Array(firstBatch.reduce((s, a) => s + a.data.length, 0));
    let at = 0;
    for (const a of firstBatch.sort((x, y) => x.layer - y.layer)) {
      ourTaps.set(a.data, at);
      at += a.data.length;
    }
    const tapErr = relMaxError(ourTaps, readF32(spec.tapsOut));
    const firstRel = Math.abs(losses[0]! - peer.losses[0]!) / Math.abs(peer.losses[0]!);
    const lastRel = Math.abs(losses[STEPS - 1]! - peer.losses[STEPS - 1]!) / Math.abs(peer.losses[STEPS - 1]!);
    if (!(firstRel <= 1e-3) || !(tapErr <= 1e-3)) {
      throw new Error(`run bench: the two sides disagree (first-step loss ${losses[0]} vs ${peer.losses[0]}, relative ${firstRel.toExponential(2)}; `
        + `first-batch activations max error ${tapErr.toExponential(2)} of the largest): no figure would be honest`);
    }
    notes.push(
      `checked: step-1 loss ours ${losses[0]!.toFixed(5)} vs PyTorch ${peer.losses[0]!.toFixed(5)} (relative ${firstRel.toExponential(2)}); `
        + `step-${STEPS} loss ${losses[STEPS - 1]!.toFixed(5)} vs ${peer.losses[STEPS - 1]!.toFixed(5)} (relative ${lastRel.toExponential(2)}); `
        + `first extraction batch, all ${GPT2_MINI.nLayers} layers x ${PROMPT_LENGTH} soft positions: max |diff| ${tapErr.toExponential(2)} of the largest activation`,
      `same file (random GPT-2, ${GPT2_MINI.nLayers} x ${GPT2_MINI.dModel}, F ${GPT2_MINI.dFF}, V ${GPT2_MINI.vocabSize}); ${threads} threads each side; `
        + `training: ${TRAIN_ROWS} rows (30-70 instruction + ${PROMPT_LENGTH} soft + 1-3 answer tokens) per step, Adam lr ${LR}, ${STEPS} steps after ${WARMUP_STEPS} warm-up; `
        + `extraction: ${VAL_ROWS} rows in batches of ${EXTRACT_BATCH}, teacher-forced scoring, every layer's FFN activations at the soft positions `
        + `(ours: trainPrompt/extract incl. validation of ids and finiteness checks; PyTorch: forward hooks, numpy copies); peer peak RSS ${peer.peakRssMb.toFixed(0)} MB`,
    );
    const oursSteps = STEPS / trainSeconds;
    const peerSteps = STEPS / peer.trainSeconds;
    const oursRows = VAL_ROWS / extractSeconds;
    const peerRows = peer.extractRows / peer.extractSeconds;
    return {
      name: "run",
      figures: [
        { label: `prompt training, batch ${TRAIN_ROWS}, n ${PROMPT_LENGTH}`, ours: oursSteps, peer: "PyTorch eager + torch.optim.Adam", peerValue: peerSteps, unit: "steps/s", ratio: oursSteps / peerSteps },
        { label: `extraction, ${GPT2_MINI.nLayers} layers tapped`, ours: oursRows, peer: "PyTorch eager + forward hooks", peerValue: peerRows, unit: "samples/s", ratio: oursRows / peerRows },
      ],
      notes,
    };
  } finally {
    await model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
