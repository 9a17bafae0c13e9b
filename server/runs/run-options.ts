/** What a user may set when starting a run, checked before anything is written, and its runner form. */
import type { StartMessage } from "../../gpu-runner/runner/protocol.js";

export interface RunOptions {
  /** Soft-prompt length n (default 20). */
  promptLength?: number;
  /** "after" the instruction (default, the paper's layout) or "prefix". */
  placement?: "after" | "prefix";
  /** Optimizer steps (default 200). */
  steps?: number;
  lr?: number;
  batchSize?: number;
  gradAccumulation?: number;
  seed?: number;
  /** "normal" (seeded Gaussian, default) or "vocab" (sampled vocabulary embeddings). */
  init?: "normal" | "vocab";
  /** Initialise the prompt from this text's token embeddings (wins over init). */
  initText?: string;
  evalEvery?: number;
  /** Validations without improvement before stopping early (0 = never). */
  patience?: number;
  checkpointEvery?: number;
  /** Layers to tap (default all). */
  layers?: number[];
  /** "soft" positions (default) or "all". */
  positions?: "soft" | "all";
  /** Metrics to score (default: every metric the task offers). */
  metrics?: string[];
  /** onnxruntime intra-op threads. */
  threads?: number;
  device?: "cpu" | "cuda";
}

export class RunOptionsError extends Error {
  constructor(readonly field: string, message: string) {
    super(`run option ${field}: ${message}`);
    this.name = "RunOptionsError";
  }
}

const positiveInt = (field: string, v: number | undefined, max = 1e9): void => {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= max)) throw new RunOptionsError(field, `must be an integer in 1..${max}, got ${v}`);
};

export function validateRunOptions(o: RunOptions): void {
  positiveInt("promptLength", o.promptLength, 512);
  positiveInt("steps", o.steps);
  positiveInt("batchSize", o.batchSize, 4096);
  positiveInt("gradAccumulation", o.gradAccumulation, 1024);
  positiveInt("threads", o.threads, 256);
  if (o.evalEvery !== undefined && !(Number.isInteger(o.evalEvery) && o.evalEvery >= 0)) throw new RunOptionsError("evalEvery", "must be a non-negative integer");
  if (o.patience !== undefined && !(Number.isInteger(o.patience) && o.patience >= 0)) throw new RunOptionsError("patience", "must be a non-negative integer");
  if (o.checkpointEvery !== undefined && !(Number.isInteger(o.checkpointEvery) && o.checkpointEvery >= 0)) throw new RunOptionsError("checkpointEvery", "must be a non-negative integer");
  if (o.lr !== undefined && !(o.lr > 0 && o.lr < 100)) throw new RunOptionsError("lr", `must be in (0, 100), got ${o.lr}`);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw new RunOptionsError("seed", "must be an integer");
  if (o.placement !== undefined && o.placement !== "after" && o.placement !== "prefix") throw new RunOptionsError("placement", 'must be "after" or "prefix"');
  if (o.init !== undefined && o.init !== "normal" && o.init !== "vocab") throw new RunOptionsError("init", 'must be "normal" or "vocab"');
  if (o.initText !== undefined && o.initText.trim() === "") throw new RunOptionsError("initText", "is empty: give a text, or leave it out");
  if (o.positions !== undefined && o.positions !== "soft" && o.positions !== "all") throw new RunOptionsError("positions", 'must be "soft" or "all"');
  if (o.device !== undefined && o.device !== "cpu" && o.device !== "cuda") throw new RunOptionsError("device", 'must be "cpu" or "cuda"');
  if (o.layers !== undefined && (o.layers.length === 0 || o.layers.some((l) => !(Number.isInteger(l) && l >= 0)))) {
    throw new RunOptionsError("layers", "must be a non-empty list of layer indices (0-based)");
  }
}

/** The runner's start message for a run (rows, model and resume state are added by the manager). */
export function runnerConfig(o: RunOptions): Pick<StartMessage, "layout" | "train" | "extract" | "initText"> {
  return {
    ...(o.initText !== undefined ? { initText: o.initText } : {}),
    layout: { promptLength: o.promptLength ?? 20, placement: o.placement ?? "after" },
    train: {
      seed: o.seed ?? 0,
      ...(o.steps !== undefined ? { maxSteps: o.steps } : {}),
      ...(o.lr !== undefined ? { adam: { lr: o.lr } } : {}),
      ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
      ...(o.gradAccumulation !== undefined ? { gradAccumulation: o.gradAccumulation } : {}),
      ...(o.init === "vocab" ? { init: { kind: "vocab" as const } } : {}),
      ...(o.evalEvery !== undefined ? { evalEvery: o.evalEvery } : {}),
      ...(o.patience !== undefined ? { patience: o.patience } : {}),
      ...(o.checkpointEvery !== undefined ? { checkpointEvery: o.checkpointEvery } : {}),
    },
    extract: { layers: o.layers ?? "all", positions: o.positions ?? "soft" },
  };
}
