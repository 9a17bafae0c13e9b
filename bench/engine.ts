/**
 * Model-engine bench: load time, peak RSS, forward tokens/s and forward+backward (soft-prompt gradient)
 * steps/s of our ONNX graphs against eager PyTorch on the same random checkpoint file and the same
 * inputs, for GPT-2 small and the real shapes of Qwen2.5-0.5B, Llama-3.2-1B and Qwen2.5-7B (BF16).
 * Before any figure counts, both sides must agree on the loss (1e-3 relative) and the prompt gradient
 * (1e-2 of its largest entry), and the peer's own float32 matmul must reach 50 GFLOP/s (Debian's torch
 * on the reference BLAS does ~6; no ratio against a crippled peer). Each side runs in its own process
 * so that its peak RSS is its own. Threads: SKILLSCOPE_BENCH_THREADS (2). Shapes:
 * SKILLSCOPE_BENCH_ENGINE_SHAPES, a comma list of SHAPES' keys (default all; the 7B one writes a
 * 15 GB checkpoint into bench/.cache and needs ~20 GB of memory). SKILLSCOPE_BENCH_ENGINE_F16=1 also
 * runs our side with half-precision products (compute "f16") against our float32 side: on a CPU this
 * measures what the half graphs cost where onnxruntime has no half kernels, not a GPU's speed-up.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createSession, loadModel, type ModelSession, type SequenceInput } from "../gpu-runner/models/index.js";
import { Rng } from "../gpu-runner/train/rng.js";
import { GPT2_SMALL, LLAMA32_1B, QWEN25_05B, QWEN25_7B, randomGpt2Checkpoint, randomLlamaCheckpoint } from "./checkpoints.js";
import { median, openblasCoreType, peakRssBytes, readF32, relMaxError, runJsonChild, runPythonPeer } from "./peers/peer.js";
import type { BenchResult } from "./result.js";
import type { ComputeDtype } from "../gpu-runner/models/spec.js";

/** Below this float32 matmul throughput the peer is crippled (reference BLAS) and no ratio is reported. */
const MIN_PEER_GFLOPS = 50;

/** One shape: its checkpoint, the batch both sides run and how often. */
interface EngineCase {
  key: string;
  label: string;
  /** The checkpoint folder (written on first use) and the parameter count. */
  checkpoint: () => { dir: string; created: boolean };
  params: number;
  peerScript: string;
  batch: number;
  tokens: number;
  insertAt: number;
  promptLength: number;
  lossLast: number;
  warmup: number;
  iters: number;
}

const llamaParams = (s: typeof QWEN25_05B) => {
  const hd = s.dModel / s.nHeads;
  const attn = s.dModel * hd * (2 * s.nHeads + 2 * s.nKvHeads);
  return s.vocabSize * s.dModel * (s.tieWordEmbeddings ? 1 : 2) + s.nLayers * (attn + 3 * s.dModel * s.dFF);
};
const REAL = { batch: 4, tokens: 84, insertAt: 60, promptLength: 20, lossLast: 4 }; // issue #13's pair

export const SHAPES: EngineCase[] = [
  {
    key: "gpt2-small", label: "GPT-2 small (12 x 768, V 50257, F32)", checkpoint: () => randomGpt2Checkpoint("gpt2-small-random", GPT2_SMALL, 1),
    params: 124e6, peerScript: "engine_peer.py", batch: 4, tokens: 128, insertAt: 100, promptLength: 20, lossLast: 8, warmup: 1, iters: 3,
  },
  {
    key: "qwen2.5-0.5b", label: "Qwen2.5-0.5B shape (24 x 896, V 151936, BF16)", checkpoint: () => randomLlamaCheckpoint("qwen2.5-0.5b-bf16", QWEN25_05B, "BF16", 1),
    params: llamaParams(QWEN25_05B), peerScript: "llama_engine_peer.py", ...REAL, warmup: 1, iters: 1,
  },
  {
    key: "llama-3.2-1b", label: "Llama-3.2-1B shape (16 x 2048, V 128256, BF16)", checkpoint: () => randomLlamaCheckpoint("llama-3.2-1b-bf16", LLAMA32_1B, "BF16", 2),
    params: llamaParams(LLAMA32_1B), peerScript: "llama_engine_peer.py", ...REAL, warmup: 0, iters: 1,
  },
  {
    key: "qwen2.5-7b", label: "Qwen2.5-7B shape (28 x 3584, V 152064, BF16)", checkpoint: () => randomLlamaCheckpoint("qwen2.5-7b-bf16", QWEN25_7B, "BF16", 3),
    params: llamaParams(QWEN25_7B), peerScript: "llama_engine_peer.py",
    batch: 1, tokens: 24, insertAt: 16, promptLength: 4, lossLast: 4, warmup: 0, iters: 1,
  },
];

/** What both sides read: the checkpoint, rows, soft prompt placement and the prompt file. */
interface EngineSpec {
  model: string;
  compute: ComputeDtype;
  threads: number;
  promptLength: number;
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
  /** The peer's float32 matmul throughput (blas_check.py). */
  matmulGflops?: number;
}

const MB = 2 ** 20;

/** Our side (run in its own process by benchEngine): load, compile, check, time. */
export async function measureOurs(specFile: string): Promise<void> {
  const s = JSON.parse(readFileSync(specFile, "utf8")) as EngineSpec;
  const sequences: SequenceInput[] = s.rows.map((ids, b) => ({ ids, insertAt: s.insertAt[b]!, lossLast: s.lossLast[b]! }));
  const t0 = performance.now();
  const model = loadModel(s.model, { threads: s.threads, compute: s.compute });
  const forward = await createSession(model, { softPromptLength: s.promptLength, withLoss: true });
  const loadSeconds = (performance.now() - t0) / 1000;
  const rssAfterLoadMb = peakRssBytes() / MB;
  const softPrompt = readF32(s.prompt);
  const grad = await createSession(model, { softPromptLength: s.promptLength, withPromptGrad: true });
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

/** Deterministic rows of random token ids and a N(0, 0.5^2) prompt (the trainer's former default init scale). */
function makeInputs(c: EngineCase, dModel: number, vocab: number): { rows: number[][]; prompt: Float32Array } {
  const rng = Rng.fromSeed(11);
  const rows = Array.from({ length: c.batch }, () => Array.from({ length: c.tokens }, () => rng.int(vocab)));
  const prompt = new Float32Array(c.promptLength * dModel);
  for (let i = 0; i < prompt.length; i++) prompt[i] = 0.5 * rng.normal();
  return { rows, prompt };
}

function checkpointBytes(dir: string): number {
  return readdirSync(dir).filter((f) => f.endsWith(".safetensors")).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

type Figure = BenchResult["figures"][number];

/** Both sides on one shape: the figures (none when the peer cannot run or is refused) and notes. */
function benchCase(c: EngineCase, threads: number, dir: string): { figures: Figure[]; notes: string[] } {
  const notes: string[] = [];
  const t = performance.now();
  const ckpt = c.checkpoint();
  if (ckpt.created) notes.push(`${c.key}: wrote the random checkpoint ${ckpt.dir} in ${((performance.now() - t) / 1000).toFixed(1)} s (cached for later runs)`);
  const weightsMb = checkpointBytes(ckpt.dir) / MB;
  const config = JSON.parse(readFileSync(join(ckpt.dir, "config.json"), "utf8")) as { n_embd?: number; hidden_size?: number; vocab_size: number };
  const { rows, prompt } = makeInputs(c, config.hidden_size ?? config.n_embd!, Math.min(config.vocab_size, 150000));
  const promptFile = join(dir, `${c.key}-prompt.f32`);
  writeFileSync(promptFile, prompt);
  const spec = (side: string, compute: ComputeDtype = "f32"): string => {
    const s: EngineSpec = {
      model: ckpt.dir, compute, threads, promptLength: c.promptLength, rows,
      insertAt: rows.map(() => c.insertAt), lossLast: rows.map(() => c.lossLast), prompt: promptFile,
      warmup: c.warmup, iters: c.iters, gradOut: join(dir, `${c.key}-grad-${side}.f32`),
    };
    const file = join(dir, `${c.key}-spec-${side}.json`);
    writeFileSync(file, JSON.stringify(s));
    return file;
  };
  const self = new URL("./engine.js", import.meta.url).href;
  const progress = (what: string) => console.error(`  engine ${c.key}: ${what} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  progress("checkpoint ready; our side");
  const measure = (side: string, compute: ComputeDtype) => runJsonChild<EngineSide>(`our engine on ${c.key}, ${compute} (child process)`, process.execPath,
    ["--input-type=module", "-e", `await (await import(${JSON.stringify(self)})).measureOurs(${JSON.stringify(spec(side, compute))});`]);
  const ours = measure("ours", "f32");
  const tokens = c.batch * (c.tokens + c.promptLength);
  const [oF, oS] = [median(ours.forwardSeconds), median(ours.stepSeconds)];
  const label = `${c.label}, ${c.batch} x ${c.tokens} tokens + ${c.promptLength} soft`;
  const half: Figure[] = [];
  if (process.env.SKILLSCOPE_BENCH_ENGINE_F16 === "1") {
    progress("our side, f16 compute");
    const h = measure("ours-f16", "f16");
    const [hF, hS] = [median(h.forwardSeconds), median(h.stepSeconds)];
    const gradErr = relMaxError(readF32(join(dir, `${c.key}-grad-ours-f16.f32`)), readF32(join(dir, `${c.key}-grad-ours.f32`)));
    notes.push(`${c.key} f16 compute (CPU: onnxruntime runs half products in float32 between casts): loss ${h.loss.toFixed(6)} vs f32 ${ours.loss.toFixed(6)} `
      + `(relative ${(Math.abs(h.loss - ours.loss) / Math.abs(ours.loss)).toExponential(2)}), prompt gradient max |diff| ${gradErr.toExponential(2)} of its largest entry; `
      + `load + compile ${h.loadSeconds.toFixed(1)} s, peak RSS after load ${h.rssAfterLoadMb.toFixed(0)} MB, whole run ${h.peakRssMb.toFixed(0)} MB`);
    half.push(
      { label: `${c.key} forward (loss), f16 compute`, ours: tokens / hF, peer: "ours, f32 compute", peerValue: tokens / oF, unit: "tokens/s", ratio: oF / hF },
      { label: `${c.key} forward+backward, f16 compute`, ours: 1 / hS, peer: "ours, f32 compute", peerValue: 1 / oS, unit: "steps/s", ratio: oS / hS },
    );
  }
  const oursLine = `${c.key} ours: load + compile ${ours.loadSeconds.toFixed(1)} s, forward ${(tokens / oF).toFixed(1)} tokens/s, `
    + `forward+backward ${(1 / oS).toFixed(3)} steps/s, peak RSS ${ours.peakRssMb.toFixed(0)} MB (after load ${ours.rssAfterLoadMb.toFixed(0)} MB; `
    + `checkpoint ${weightsMb.toFixed(0)} MB), loss ${ours.loss.toFixed(6)}; median of ${c.iters} run(s)${c.warmup ? " after a warm-up run" : ""}`;
  const f32Bytes = c.params * 4;
  if (f32Bytes > 0.8 * totalmem()) {
    notes.push(oursLine, `${c.key} PyTorch: not run: it holds the weights as float32, ${(f32Bytes / 2 ** 30).toFixed(1)} GiB, `
      + `on a ${(totalmem() / 2 ** 30).toFixed(0)} GiB machine; no ratio`);
    return { figures: half, notes };
  }
  progress("PyTorch side");
  const peer = runPythonPeer<EngineSide>(c.peerScript, spec("torch"), threads);
  progress("done");
  const gflops = peer.matmulGflops ?? 0;
  const lossRel = Math.abs(ours.loss - peer.loss) / Math.abs(peer.loss);
  const gradErr = relMaxError(readF32(join(dir, `${c.key}-grad-ours.f32`)), readF32(join(dir, `${c.key}-grad-torch.f32`)));
  if (!(lossRel <= 1e-3) || !(gradErr <= 1e-2)) {
    throw new Error(`engine bench ${c.key}: the two sides disagree (loss ${ours.loss} vs ${peer.loss}, relative ${lossRel.toExponential(2)}; `
      + `prompt-gradient max error ${gradErr.toExponential(2)} of its largest entry): no figure would be honest`);
  }
  const [pF, pS] = [median(peer.forwardSeconds), median(peer.stepSeconds)];
  notes.push(
    `${c.key} checked: loss ours ${ours.loss.toFixed(6)} vs PyTorch ${peer.loss.toFixed(6)} (relative ${lossRel.toExponential(2)}); `
      + `prompt gradient max |diff| = ${gradErr.toExponential(2)} of its largest entry; PyTorch's float32 matmul: ${gflops.toFixed(0)} GFLOP/s `
      + `(OpenBLAS kernels ${openblasCoreType() ?? "as detected"})`,
    `${c.key}: same file ${weightsMb.toFixed(0)} MB (${ckpt.dir}); ${threads} threads each side; loss on the last ${c.lossLast} tokens, `
      + `prompt inserted after token ${c.insertAt}; median of ${c.iters} run(s)${c.warmup ? " after a warm-up run" : ""}; `
      + `load: ours ${ours.loadSeconds.toFixed(1)} s (weights + forward session), PyTorch ${peer.loadSeconds.toFixed(1)} s (weights as float32); `
      + `peak RSS after load: ours ${ours.rssAfterLoadMb.toFixed(0)} MB, PyTorch ${peer.rssAfterLoadMb.toFixed(0)} MB; `
      + `peak over the whole run (ours holds a forward and a gradient session): ours ${ours.peakRssMb.toFixed(0)} MB, PyTorch ${peer.peakRssMb.toFixed(0)} MB`,
  );
  if (gflops < MIN_PEER_GFLOPS) {
    notes.push(oursLine, `${c.key} PyTorch: forward ${(tokens / pF).toFixed(1)} tokens/s, forward+backward ${(1 / pS).toFixed(3)} steps/s`,
      `${c.key}: NO RATIO: PyTorch's matmul ran at ${gflops.toFixed(1)} GFLOP/s (< ${MIN_PEER_GFLOPS}): a loaded machine, or a BLAS without `
      + "optimised kernels (Debian's python3-torch needs libopenblas0-pthread; OpenBLAS on a CPU it does not know uses plain SSE: set OPENBLAS_CORETYPE)");
    return { figures: half, notes };
  }
  return {
    figures: [
      { label: `forward (loss), ${label}`, ours: tokens / oF, peer: "PyTorch eager", peerValue: tokens / pF, unit: "tokens/s", ratio: pF / oF },
      { label: `${c.key} forward+backward, d loss / d prompt`, ours: 1 / oS, peer: "PyTorch eager", peerValue: 1 / pS, unit: "steps/s", ratio: pS / oS },
      { label: `${c.key} load`, ours: ours.loadSeconds, peer: "PyTorch", peerValue: peer.loadSeconds, unit: "s", ratio: peer.loadSeconds / ours.loadSeconds },
      { label: `${c.key} peak RSS after load`, ours: ours.rssAfterLoadMb, peer: "PyTorch", peerValue: peer.rssAfterLoadMb, unit: "MB", ratio: peer.rssAfterLoadMb / ours.rssAfterLoadMb },
      { label: `${c.key} peak RSS, forward + gradient`, ours: ours.peakRssMb, peer: "PyTorch", peerValue: peer.peakRssMb, unit: "MB", ratio: peer.peakRssMb / ours.peakRssMb },
      ...half,
    ],
    notes,
  };
}

export async function benchEngine(): Promise<BenchResult> {
  const threads = Number(process.env.SKILLSCOPE_BENCH_THREADS ?? 2);
  const wanted = process.env.SKILLSCOPE_BENCH_ENGINE_SHAPES?.split(",").map((k) => k.trim()).filter(Boolean);
  const unknown = wanted?.filter((k) => !SHAPES.some((c) => c.key === k)) ?? [];
  if (unknown.length > 0) throw new Error(`SKILLSCOPE_BENCH_ENGINE_SHAPES: unknown ${unknown.join(", ")}; known: ${SHAPES.map((c) => c.key).join(", ")}`);
  const dir = mkdtempSync(join(tmpdir(), "skillscope-bench-engine-"));
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    for (const c of SHAPES.filter((x) => !wanted || wanted.includes(x.key))) {
      const r = benchCase(c, threads, dir);
      figures.push(...r.figures);
      notes.push(...r.notes);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: "engine", figures, notes };
}
