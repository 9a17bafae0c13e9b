/**
 * Model-engine bench: forward tokens/s and forward+backward (soft-prompt gradient) steps/s of our ONNX
 * graphs against eager PyTorch on the same random GPT-2-small checkpoint file and the same inputs, plus
 * peak RSS after loading against the checkpoint size. Before any figure counts, both sides must agree on
 * the loss (1e-3 relative) and the prompt gradient (1e-2 of its largest entry).
 * Our side runs in a child process so that its peak RSS is its own. Threads: SKILLSCOPE_BENCH_THREADS (2).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSession, loadModel, type ModelSession, type SequenceInput } from "../gpu-runner/models/index.js";
import { Rng } from "../gpu-runner/train/rng.js";
import { GPT2_SMALL, randomGpt2Checkpoint } from "./checkpoints.js";
import { median, peakRssBytes, readF32, relMaxError, runJsonChild, runPythonPeer } from "./peers/peer.js";
import type { BenchResult } from "./result.js";

const BATCH = 4;
const TOKENS = 128;
const INSERT_AT = 100;
const PROMPT_LENGTH = 20;
const LOSS_LAST = 8;
const WARMUP = 1;
const ITERS = 3;

/** What both sides read: the checkpoint, rows, soft prompt placement and the prompt file. */
interface EngineSpec {
  model: string;
  threads: number;
  rows: number[][];
  insertAt: number[];
  lossLast: number[];
  /** float32 [n, d] */
  prompt: string;
  warmup: number;
  iters: number;
  /** Where the side writes its d loss / d prompt, float32 [n, d]. */
  gradOut: string;
}

/** What each side reports. */
interface EngineSide {
  loadSeconds: number;
  loss: number;
  forwardSeconds: number[];
  stepSeconds: number[];
  rssAfterLoadMb: number;
  peakRssMb: number;
}

const MB = 2 ** 20;

/** Our side (run in its own process by benchEngine): load, compile, check, time. */
export async function measureOurs(specFile: string): Promise<void> {
  const s = JSON.parse(readFileSync(specFile, "utf8")) as EngineSpec;
  const sequences: SequenceInput[] = s.rows.map((ids, b) => ({ ids, insertAt: s.insertAt[b]!, lossLast: s.lossLast[b]! }));
  const t0 = performance.now();
  const model = loadModel(s.model, { threads: s.threads });
  const forward = await createSession(model, { softPromptLength: PROMPT_LENGTH, withLoss: true });
  const loadSeconds = (performance.now() - t0) / 1000;
  const rssAfterLoadMb = peakRssBytes() / MB;
  const softPrompt = readF32(s.prompt);
  const grad = await createSession(model, { softPromptLength: PROMPT_LENGTH, withPromptGrad: true });
  const first = await grad.run({ sequences, softPrompt });
  writeFileSync(s.gradOut, first.promptGrad!);
  const time = async (session: ModelSession, warmup: number) => {
    for (let i = 0; i < warmup; i++) await session.run({ sequences, softPrompt });
    const out: number[] = [];
    for (let i = 0; i < s.iters; i++) {
      const t = performance.now();
      await session.run({ sequences, softPrompt });
      out.push((performance.now() - t) / 1000);
    }
    return out;
  };
  const result: EngineSide = {
    loadSeconds, loss: first.loss!, forwardSeconds: await time(forward, s.warmup), stepSeconds: await time(grad, 0), // the checked run warmed the gradient path
    rssAfterLoadMb, peakRssMb: peakRssBytes() / MB,
  };
  await forward.release();
  await grad.release();
  console.log(JSON.stringify(result));
}

/** Deterministic rows of random token ids and a N(0, 0.5^2) prompt (the trainer's default init scale). */
function makeInputs(dModel: number, vocab: number): { rows: number[][]; prompt: Float32Array } {
  const rng = Rng.fromSeed(11);
  const rows = Array.from({ length: BATCH }, () => Array.from({ length: TOKENS }, () => rng.int(vocab)));
  const prompt = new Float32Array(PROMPT_LENGTH * dModel);
  for (let i = 0; i < prompt.length; i++) prompt[i] = 0.5 * rng.normal();
  return { rows, prompt };
}

export async function benchEngine(): Promise<BenchResult> {
  const threads = Number(process.env.SKILLSCOPE_BENCH_THREADS ?? 2);
  const notes: string[] = [];
  const t = performance.now();
  const ckpt = randomGpt2Checkpoint("gpt2-small-random", GPT2_SMALL, 1);
  if (ckpt.created) notes.push(`wrote the random checkpoint ${ckpt.dir} in ${((performance.now() - t) / 1000).toFixed(1)} s (cached for later runs)`);
  const weightsMb = statSync(join(ckpt.dir, "model.safetensors")).size / MB;

  const dir = mkdtempSync(join(tmpdir(), "skillscope-bench-engine-"));
  try {
    const { rows, prompt } = makeInputs(GPT2_SMALL.dModel, GPT2_SMALL.vocabSize);
    const promptFile = join(dir, "prompt.f32");
    writeFileSync(promptFile, prompt);
    const spec = (side: string): string => {
      const s: EngineSpec = {
        model: ckpt.dir, threads, rows,
        insertAt: rows.map(() => INSERT_AT), lossLast: rows.map(() => LOSS_LAST), prompt: promptFile,
        warmup: WARMUP, iters: ITERS, gradOut: join(dir, `grad-${side}.f32`),
      };
      const file = join(dir, `spec-${side}.json`);
      writeFileSync(file, JSON.stringify(s));
      return file;
    };
    const self = new URL("./engine.js", import.meta.url).href;
    const ours = runJsonChild<EngineSide>("our engine (child process)", process.execPath,
      ["--input-type=module", "-e", `await (await import(${JSON.stringify(self)})).measureOurs(${JSON.stringify(spec("ours"))});`]);
    const peer = runPythonPeer<EngineSide>("engine_peer.py", spec("torch"), threads);

    const lossRel = Math.abs(ours.loss - peer.loss) / Math.abs(peer.loss);
    const gradErr = relMaxError(readF32(join(dir, "grad-ours.f32")), readF32(join(dir, "grad-torch.f32")));
    if (!(lossRel <= 1e-3) || !(gradErr <= 1e-2)) {
      throw new Error(`engine bench: the two sides disagree (loss ${ours.loss} vs ${peer.loss}, relative ${lossRel.toExponential(2)}; `
        + `prompt-gradient max error ${gradErr.toExponential(2)} of its largest entry): no figure would be honest`);
    }
    const tokens = BATCH * (TOKENS + PROMPT_LENGTH);
    const [oF, pF, oS, pS] = [median(ours.forwardSeconds), median(peer.forwardSeconds), median(ours.stepSeconds), median(peer.stepSeconds)];
    const shape = `GPT-2 small (12 x 768, V 50257), ${BATCH} x ${TOKENS} tokens + ${PROMPT_LENGTH} soft`;
    notes.push(
      `checked: loss ours ${ours.loss.toFixed(6)} vs PyTorch ${peer.loss.toFixed(6)} (relative ${lossRel.toExponential(2)}); `
        + `prompt gradient max |diff| = ${gradErr.toExponential(2)} of its largest entry`,
      `same file ${weightsMb.toFixed(0)} MB F32 (${ckpt.dir}); ${threads} threads each side (ORT intraOpThreads, torch.set_num_threads); `
        + `loss on the last ${LOSS_LAST} tokens, prompt inserted after token ${INSERT_AT}; median of ${ITERS} runs after a warm-up run`,
      `load + compile: ours ${ours.loadSeconds.toFixed(1)} s (forward session), PyTorch ${peer.loadSeconds.toFixed(1)} s; `
        + `peak RSS after load: ours ${ours.rssAfterLoadMb.toFixed(0)} MB = ${(ours.rssAfterLoadMb / weightsMb).toFixed(2)} x checkpoint, `
        + `PyTorch ${peer.rssAfterLoadMb.toFixed(0)} MB; peak over the whole bench (ours holds a forward and a gradient session): `
        + `ours ${ours.peakRssMb.toFixed(0)} MB, PyTorch ${peer.peakRssMb.toFixed(0)} MB`,
    );
    return {
      name: "engine",
      figures: [
        { label: `forward (loss), ${shape}`, ours: tokens / oF, peer: "PyTorch eager", peerValue: tokens / pF, unit: "tokens/s", ratio: pF / oF },
        { label: "forward+backward, d loss / d prompt", ours: 1 / oS, peer: "PyTorch eager", peerValue: 1 / pS, unit: "steps/s", ratio: pS / oS },
        { label: "peak RSS after load", ours: ours.rssAfterLoadMb, peer: "PyTorch", peerValue: peer.rssAfterLoadMb, unit: "MB", ratio: peer.rssAfterLoadMb / ours.rssAfterLoadMb },
      ],
      notes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
