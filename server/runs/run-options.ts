/** What a user may set when starting a run, checked before anything is written, and its runner form. */
import type { StartMessage } from "../../gpu-runner/runner/protocol.js";
import { DEFAULT_EXTRACT } from "../../gpu-runner/extract/extract.js";
import { DEFAULT_LAYOUT } from "../../gpu-runner/train/layout.js";
import { DEFAULT_TRAIN } from "../../gpu-runner/train/train.js";
import { ServiceError } from "../errors.js";

/**
 * What a run uses for an option left out. These are the runner's own defaults, named once here so
 * the API descriptions, the CLI help and the start message all say the same thing.
 */
export const RUN_DEFAULTS = {
  promptLength: DEFAULT_LAYOUT.promptLength,
  placement: DEFAULT_LAYOUT.placement,
  steps: DEFAULT_TRAIN.maxSteps ?? 200,
  seed: DEFAULT_TRAIN.seed,
  layers: DEFAULT_EXTRACT.layers,
} as const;

export interface RunOptions {
  /** Soft-prompt length n (default RUN_DEFAULTS.promptLength). */
  promptLength?: number;
  /**
   * "after" the instruction (the default and the only placement accepted): "prefix" is refused, see
   * PREFIX_REFUSED.
   */
  placement?: "after" | "prefix";
  /** Optimizer steps (default RUN_DEFAULTS.steps). */
  steps?: number;
  lr?: number;
  batchSize?: number;
  gradAccumulation?: number;
  seed?: number;
  /** "vocab" (sampled vocabulary embeddings, default) or "normal" (seeded Gaussian, scale 0.5). */
  init?: "normal" | "vocab";
  /** Initialise the prompt from this text's token embeddings (wins over init). */
  initText?: string;
  evalEvery?: number;
  /** Validations without improvement before stopping early (0 = never). */
  patience?: number;
  checkpointEvery?: number;
  /** Layers to tap (default all). */
  layers?: number[];
  /** Metrics to score (default: every metric the task offers). */
  metrics?: string[];
  /** onnxruntime intra-op threads. */
  threads?: number;
  device?: "cpu" | "cuda";
  /**
   * "full" (default) stores every activation; "topk" keeps only per-neuron reservoirs of the
   * `reservoirK` highest and lowest activations (big models), so nothing can be rescored later.
   */
  storage?: "full" | "topk";
  /** Reservoir size k of the "topk" storage (default 32). */
  reservoirK?: number;
  /**
   * Extraction shards when the server has several runners (default: one per runner); contiguous,
   * sizes within one of each other. Ignored by a one-runner server.
   */
  shards?: number;
}

/**
 * Why a soft prompt before the input is refused: every model the runner loads (GPT-2, Llama
 * families) is a causal decoder, so prompt tokens placed first cannot attend to the input; their
 * activations are the same for every sample and no correlation with a metric is defined.
 */
export const PREFIX_REFUSED =
  'placement "prefix" puts the soft prompt before the input, and in a causal model (every model skillscope runs) those positions cannot attend to the input: ' +
  'their activations are identical for every sample, so no r is defined. Use placement "after" (the default)';

export const DEFAULT_RESERVOIR_K = 32;
/** The largest k extremalSamples serves, so a bigger reservoir would only cost memory. */
export const MAX_RESERVOIR_K = 1000;

/** How a run keeps its activations. */
export type RunStorage = { mode: "full" } | { mode: "topk"; k: number };

/** The storage of a run, from its options or its stored config (`{ options }`, as the run manager writes it). */
export function runStorage(source: RunOptions | { config: unknown }): RunStorage {
  const o: RunOptions = "config" in source ? ((source.config as { options?: RunOptions } | null)?.options ?? {}) : source;
  return o.storage === "topk" ? { mode: "topk", k: o.reservoirK ?? DEFAULT_RESERVOIR_K } : { mode: "full" };
}

/**
 * Throws BAD_STATE when the run kept only reservoirs (storage "topk") and `what` (rescoring, added
 * metrics, permutation nulls, a neuron's activations) needs its full activations.
 */
export function requireFullActivations(run: { id: number; config: unknown }, what: string): void {
  if (runStorage(run).mode === "full") return;
  throw new ServiceError("BAD_STATE", `run ${run.id} kept only top/bottom-k reservoirs (storage "topk"), not its activations: ${what} needs a run started with storage "full"`);
}

/** A bad run option: BAD_INPUT naming `options.<field>`. */
function badOption(field: string, message: string): ServiceError {
  return new ServiceError("BAD_INPUT", `run option ${field}: ${message}`, { field: `options.${field}` });
}

const positiveInt = (field: string, v: number | undefined, max = 1e9): void => {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= max)) throw badOption(field, `must be an integer in 1..${max}, got ${v}`);
};

export function validateRunOptions(o: RunOptions): void {
  positiveInt("promptLength", o.promptLength, 512);
  positiveInt("steps", o.steps);
  positiveInt("batchSize", o.batchSize, 4096);
  positiveInt("gradAccumulation", o.gradAccumulation, 1024);
  positiveInt("threads", o.threads, 256);
  if (o.evalEvery !== undefined && !(Number.isInteger(o.evalEvery) && o.evalEvery >= 0)) throw badOption("evalEvery", "must be a non-negative integer");
  if (o.patience !== undefined && !(Number.isInteger(o.patience) && o.patience >= 0)) throw badOption("patience", "must be a non-negative integer");
  if (o.checkpointEvery !== undefined && !(Number.isInteger(o.checkpointEvery) && o.checkpointEvery >= 0)) throw badOption("checkpointEvery", "must be a non-negative integer");
  if (o.lr !== undefined && !(o.lr > 0 && o.lr < 100)) throw badOption("lr", `must be in (0, 100), got ${o.lr}`);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw badOption("seed", "must be an integer");
  if (o.placement === "prefix") throw badOption("placement", PREFIX_REFUSED);
  if (o.placement !== undefined && o.placement !== "after") throw badOption("placement", 'must be "after"');
  if (o.init !== undefined && o.init !== "normal" && o.init !== "vocab") throw badOption("init", 'must be "normal" or "vocab"');
  if (o.initText !== undefined && o.initText.trim() === "") throw badOption("initText", "is empty: give a text, or leave it out");
  if (o.device !== undefined && o.device !== "cpu" && o.device !== "cuda") throw badOption("device", 'must be "cpu" or "cuda"');
  if (o.storage !== undefined && o.storage !== "full" && o.storage !== "topk") throw badOption("storage", 'must be "full" or "topk"');
  positiveInt("reservoirK", o.reservoirK, MAX_RESERVOIR_K);
  positiveInt("shards", o.shards, 100000);
  if (o.reservoirK !== undefined && o.storage !== "topk") throw badOption("reservoirK", 'applies only to storage "topk": set storage "topk" or leave reservoirK out');
  if (o.layers !== undefined && (o.layers.length === 0 || o.layers.some((l) => !(Number.isInteger(l) && l >= 0)))) {
    throw badOption("layers", "must be a non-empty list of layer indices (0-based)");
  }
}

/** The runner's start message for a run (rows, model and resume state are added by the manager). */
export function runnerConfig(o: RunOptions): Pick<StartMessage, "layout" | "train" | "extract" | "initText"> {
  return {
    ...(o.initText !== undefined ? { initText: o.initText } : {}),
    layout: { promptLength: o.promptLength ?? RUN_DEFAULTS.promptLength, placement: o.placement ?? RUN_DEFAULTS.placement },
    train: {
      seed: o.seed ?? RUN_DEFAULTS.seed,
      maxSteps: o.steps ?? RUN_DEFAULTS.steps,
      ...(o.lr !== undefined ? { adam: { lr: o.lr } } : {}),
      ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
      ...(o.gradAccumulation !== undefined ? { gradAccumulation: o.gradAccumulation } : {}),
      ...(o.init === "normal" ? { init: { kind: "normal" as const, scale: 0.5 } } : {}),
      ...(o.evalEvery !== undefined ? { evalEvery: o.evalEvery } : {}),
      ...(o.patience !== undefined ? { patience: o.patience } : {}),
      ...(o.checkpointEvery !== undefined ? { checkpointEvery: o.checkpointEvery } : {}),
    },
    // soft positions only: absolute positions mean different tokens in different samples (and padding)
    extract: { layers: o.layers ?? RUN_DEFAULTS.layers, positions: "soft" },
  };
}
