import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { readConfig, type ModelConfig } from "./config.js";
import { CheckpointError } from "./errors.js";
import { readTensorIndex, type TensorIndex } from "./safetensors.js";
import { TextTokenizer } from "./tokenizer.js";

/** A Hugging Face model folder, parsed and validated (headers only, no weights in memory). */
export interface ModelDir {
  /** The folder as given, and its real path (HF cache snapshot folders hold symlinks). */
  dir: string;
  realDir: string;
  config: ModelConfig;
  tensors: TensorIndex["tensors"];
  metadata: TensorIndex["metadata"];
  tokenizer: TextTokenizer | undefined;
  /** generation_config.json, when present. */
  generationConfig: Record<string, unknown> | undefined;
}

/** Loads config, tensor index and tokenizer (optional when `requireTokenizer` is false). */
export function loadModelDir(dir: string, opts: { requireTokenizer?: boolean } = {}): ModelDir {
  if (!existsSync(dir)) {
    throw new CheckpointError(`${dir}: model folder not found`, dir);
  }
  const config = readConfig(dir);
  const { tensors, metadata } = readTensorIndex(dir);
  const hasTokenizer = existsSync(join(dir, "tokenizer.json"));
  const tokenizer = hasTokenizer || opts.requireTokenizer ? TextTokenizer.fromDir(dir) : undefined;
  let generationConfig: Record<string, unknown> | undefined;
  const gen = join(dir, "generation_config.json");
  if (existsSync(gen)) {
    try {
      generationConfig = JSON.parse(readFileSync(gen, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new CheckpointError(`generation_config.json: not valid JSON (${(e as Error).message})`, "generation_config.json");
    }
  }
  return { dir, realDir: realpathSync(dir), config, tensors, metadata, tokenizer, generationConfig };
}
