/**
 * Random GPT-2 checkpoints for the benchmarks, written once into bench/.cache/ as real Hugging Face
 * folders (config.json, model.safetensors F32, tokenizer.json, generation_config.json) so that our
 * engine and the PyTorch peers load the very same file.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeCheckpoint } from "../gpu-runner/pretrain/checkpoint.js";
import { gpt2ParamSpecs, initParams, type Gpt2Shape } from "../gpu-runner/pretrain/gpt2-params.js";
import { REPO_ROOT } from "./peers/peer.js";

export const CACHE_DIR = join(REPO_ROOT, "bench", ".cache");

/** GPT-2 small's shape (124M parameters, 498 MB in float32). */
export const GPT2_SMALL: Gpt2Shape = {
  vocabSize: 50257, nPositions: 1024, dModel: 768, nLayers: 12, nHeads: 12, dFF: 3072, layerNormEps: 1e-5,
};

/** A 4-layer, d_model 256 GPT-2 with the full vocabulary (65 MB): fast enough for loop benchmarks. */
export const GPT2_MINI: Gpt2Shape = {
  vocabSize: 50257, nPositions: 1024, dModel: 256, nLayers: 4, nHeads: 8, dFF: 1024, layerNormEps: 1e-5,
};

/**
 * The folder of a random checkpoint of `shape` (GPT-2's initialisation from `seed`), made on first use.
 * The folder is written under a temporary name and renamed, so an interrupted write never leaves a
 * half-written checkpoint that a later run would trust.
 */
export function randomGpt2Checkpoint(name: string, shape: Gpt2Shape, seed: number, cacheDir = CACHE_DIR): { dir: string; created: boolean } {
  const dir = join(cacheDir, name);
  if (existsSync(join(dir, "model.safetensors"))) return { dir, created: false };
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const specs = gpt2ParamSpecs(shape);
  writeCheckpoint(tmp, shape, specs, initParams(specs, seed), { purpose: "benchmark", seed });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, created: true };
}
