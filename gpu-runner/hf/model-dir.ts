import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { readConfig, type ModelConfig } from "./config.js";
import { CheckpointError } from "./errors.js";
import { parseJsonText } from "./json-text.js";
import { realPathInside, realRoots } from "./roots.js";
import { INDEX_FILE, readTensorIndex, weightFiles, type TensorIndex } from "./safetensors.js";
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

export interface LoadModelDirOptions {
  /** Fail when tokenizer.json is missing (default: load it when present). */
  requireTokenizer?: boolean;
  /**
   * Folders every file the model reads must resolve inside (after symlinks and `..`); a file that
   * does not throws OutsideRootError before any of it is read. Undefined: no check.
   */
  roots?: readonly string[];
}

/** Files of a model folder read besides the weights, as named in the folder. */
const SIDE_FILES = ["config.json", "tokenizer.json", "generation_config.json"] as const;

/** Loads config, tensor index and tokenizer (optional when `requireTokenizer` is false). */
export function loadModelDir(dir: string, opts: LoadModelDirOptions = {}): ModelDir {
  if (!existsSync(dir)) {
    throw new CheckpointError(`${dir}: model folder not found`, dir);
  }
  if (opts.roots) assertModelFilesInside(dir, opts.roots);
  const config = readConfig(dir);
  const { tensors, metadata } = readTensorIndex(dir);
  const hasTokenizer = existsSync(join(dir, "tokenizer.json"));
  const tokenizer = hasTokenizer || opts.requireTokenizer ? TextTokenizer.fromDir(dir) : undefined;
  let generationConfig: Record<string, unknown> | undefined;
  const gen = join(dir, "generation_config.json");
  if (existsSync(gen)) {
    generationConfig = parseJsonText(readFileSync(gen, "utf8"), (problem) =>
      new CheckpointError(`generation_config.json: ${problem}`, "generation_config.json")) as Record<string, unknown>;
  }
  return { dir, realDir: realpathSync(dir), config, tensors, metadata, tokenizer, generationConfig };
}

/**
 * Requires every file loading `dir` would read (config, tokenizer, generation config, the shard
 * index and every weight file it names, `..` entries included) to resolve inside one of `roots`.
 * Throws OutsideRootError naming the first file that does not; reads no file outside them (the
 * index is read only once it is known to be inside). Missing files are left to the loader.
 */
export function assertModelFilesInside(dir: string, roots: readonly string[]): void {
  const inside = realRoots(roots);
  realPathInside(dir, dir, inside);
  for (const name of SIDE_FILES) realPathInside(join(dir, name), name, inside);
  // the index is read for its shard names only once it is known to lie inside
  realPathInside(join(dir, INDEX_FILE), INDEX_FILE, inside);
  for (const file of weightFiles(dir)) realPathInside(join(dir, file), file, inside);
}
