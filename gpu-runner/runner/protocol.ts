/**
 * The one message protocol between a runner (worker thread or remote process) and its sink
 * (the in-process server, or a remote server over WebSocket). Every message is a plain object
 * whose only non-JSON values are typed arrays: it survives structured clone (pass
 * transferList(msg) to postMessage) and codec.ts's binary frames.
 */
import type { CausalExperiment, CausalOutcome } from "../causal/types.js";
import type { ProbeOutcome, ProbeSpec } from "../probe/types.js";
import type { RunnerErrorCode } from "../train/errors.js";
import type { ExtractConfig, ExtractSummary } from "../extract/extract.js";
import type { LayoutOptions } from "../train/layout.js";
import type { TrainCheckpoint, TrainConfig } from "../train/train.js";

// ---- control messages: sink -> runner ----

/** A Hugging Face checkpoint folder, run through ONNX (the one kind of model a runner opens). */
export interface ModelSpec {
  readonly kind: "onnx";
  readonly dir: string;
  readonly threads?: number;
  readonly device?: "cpu" | "cuda";
  /** Precision of the model's matrix products (see ComputeDtype in models/spec.ts); default "f32". */
  readonly compute?: "f32" | "f16";
  /** Folders every file of the model must resolve inside when it is opened (the server's model roots). */
  readonly roots?: readonly string[];
}

/** One task row, already rendered: instruction text (template applied) and answer text (verbalized). */
export interface TaskRow {
  readonly id: string;
  readonly instruction: string;
  readonly answer: string;
}

export interface StartMessage {
  readonly type: "start";
  readonly runId: string;
  readonly model: ModelSpec;
  /**
   * train: optimised on. dev: validated on for early stopping and choosing the kept prompt (absent:
   * val plays that part). val: extracted and scored, so the analysed samples never chose the prompt.
   */
  readonly rows: { readonly train: readonly TaskRow[]; readonly dev?: readonly TaskRow[]; readonly val: readonly TaskRow[] };
  /** padId comes from the model's tokenizer. */
  readonly layout?: Partial<Omit<LayoutOptions, "padId">>;
  readonly train?: Partial<TrainConfig>;
  /** Initialise the prompt from the embeddings of this text's tokens, repeated to length n. */
  readonly initText?: string;
  /** enabled false stops after training. */
  readonly extract?: Partial<ExtractConfig> & { readonly enabled?: boolean };
  /** Continue training from this checkpoint (same config, rows and seed => same trajectory). */
  readonly resume?: TrainCheckpoint;
  /** Skip training and extract with this prompt [n, dModel]. */
  readonly prompt?: Float32Array;
  /**
   * Extract only part of the val rows (several runners share one run): rows [start, end) when both
   * are given (contiguous shards of any size), else rows i with i % count == index.
   */
  readonly shard?: { readonly index: number; readonly count: number; readonly start?: number; readonly end?: number };
  /** Skip extraction batches before this id (a reconnecting runner; batch ids are stable). */
  readonly startBatch?: number;
}

export interface CancelMessage {
  readonly type: "cancel";
  readonly runId: string;
}

/**
 * A causal experiment (ablation or steering, see gpu-runner/causal) on a trained prompt: forwards
 * the rows with and without FFN interventions. Ends with a `done` whose summary carries `causal`.
 */
export interface CausalMessage {
  readonly type: "causal";
  readonly runId: string;
  readonly model: ModelSpec;
  /** The samples to forward (S_val), already rendered. */
  readonly rows: readonly TaskRow[];
  readonly layout?: Partial<Omit<LayoutOptions, "padId">>;
  /** The trained prompt [n, dModel]. */
  readonly prompt: Float32Array;
  readonly experiment: CausalExperiment;
  /** Rows per forward (default 16). */
  readonly batchSize?: number;
}

/**
 * A probe (see gpu-runner/probe) on a trained prompt: forwards the rows and reads the chosen
 * neurons at the soft positions. Ends with a `done` whose summary carries `probe`.
 */
export interface ProbeMessage {
  readonly type: "probe";
  readonly runId: string;
  readonly model: ModelSpec;
  /** The inputs, already rendered; rows without a gold answer carry a placeholder of the task's answer length. */
  readonly rows: readonly TaskRow[];
  readonly layout?: Partial<Omit<LayoutOptions, "padId">>;
  /** The trained prompt [n, dModel]. */
  readonly prompt: Float32Array;
  readonly probe: ProbeSpec;
}

/** A job a worker runs: a run (train and/or extract), a causal experiment or a probe. */
export type JobMessage = StartMessage | CausalMessage | ProbeMessage;

export type RunnerCommand = JobMessage | CancelMessage;

// ---- events: runner -> sink ----

export type RunPhase = "loading" | "tokenizing" | "training" | "extracting";

interface EventBase {
  readonly runId: string;
  /** 0, 1, 2, ... in emission order within one start. */
  readonly seq: number;
}

export interface StatusEvent extends EventBase {
  readonly type: "status";
  readonly phase: RunPhase;
  readonly message: string;
  /** Set once the model and rows are loaded. */
  readonly info?: RunInfo;
}

export interface RunInfo {
  readonly dModel: number;
  readonly nLayers: number;
  readonly dFF: number;
  readonly vocabSize: number;
  readonly neuronDefinition: string;
  readonly promptLength: number;
  readonly placement: "after" | "prefix";
  readonly nTrain: number;
  readonly nVal: number;
  /** Val rows this runner extracts (its shard). */
  readonly nExtract: number;
  readonly truncatedRows: number;
}

export interface ProgressEvent extends EventBase {
  readonly type: "progress";
  readonly phase: "training" | "extracting";
  /** Optimizer steps (training) or batches (extracting) done, out of totalSteps. */
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  /** Step loss (training) or running mean sample loss (extracting). */
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm?: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly tokensPerSec: number;
  readonly etaSec: number;
}

export interface SamplesEvent extends EventBase {
  readonly type: "samples";
  readonly shard: number;
  readonly batchId: number;
  /** [b] index into rows.val. */
  readonly sampleIdx: Int32Array;
  readonly sampleIds: readonly string[];
  /** [b] mean cross-entropy over the answer tokens. */
  readonly loss: Float64Array;
  readonly goldProb: Float64Array;
  /** [b] top token probability at the first answer position. */
  readonly confidence: Float64Array;
  /**
   * [b] the first answer token that carries content (not only whitespace or a word-boundary piece), -1
   * for none, and the cross-entropy and top probability there (NaN for none). Absent from runners
   * that predate them.
   */
  readonly contentToken?: Int32Array;
  readonly contentLoss?: Float64Array;
  readonly contentConfidence?: Float64Array;
  readonly prediction: readonly string[];
  readonly correct: Uint8Array;
}

/** Idempotent by (runId, shard, batchId, layer). */
export interface ActivationsEvent extends EventBase {
  readonly type: "activations";
  readonly shard: number;
  readonly batchId: number;
  readonly layer: number;
  /** [b] index into rows.val. */
  readonly sampleIdx: Int32Array;
  /** [b, P] soft index (positions "soft") or absolute position, -1 on padding (positions "all"). */
  readonly positions: Int32Array;
  readonly positionKind: "soft" | "absolute";
  readonly nPositions: number;
  readonly dFF: number;
  /** [b, P, dFF] float32. */
  readonly data: Float32Array;
}

export interface CheckpointEvent extends EventBase {
  readonly type: "checkpoint";
  readonly step: number;
  readonly checkpoint: TrainCheckpoint;
}

export interface RunSummary {
  readonly neuronDefinition: string;
  /** The prompt extraction used (best validation prompt), [n, dModel]. */
  readonly prompt: Float32Array;
  readonly train?: {
    readonly steps: number;
    readonly epochs: number;
    readonly stoppedEarly: boolean;
    readonly finalLoss: number;
    readonly bestStep?: number;
    readonly bestValLoss?: number;
    readonly bestValAccuracy?: number;
  };
  readonly extract?: ExtractSummary & { readonly shard: number };
  /** The outcome of a `causal` job. */
  readonly causal?: CausalOutcome;
  /** The outcome of a `probe` job. */
  readonly probe?: ProbeOutcome;
  /** Wall seconds of the run: this attempt's, plus the training time of earlier attempts it resumed from. */
  readonly seconds: number;
  /** Seconds spent training, over every attempt; seconds of this attempt's extraction. */
  readonly trainSeconds?: number;
  readonly extractSeconds?: number;
}

export interface DoneEvent extends EventBase {
  readonly type: "done";
  readonly summary: RunSummary;
}

export interface ErrorEvent extends EventBase {
  readonly type: "error";
  readonly code: RunnerErrorCode;
  readonly message: string;
}

export type RunnerEvent = StatusEvent | ProgressEvent | SamplesEvent | ActivationsEvent | CheckpointEvent | DoneEvent | ErrorEvent;
export type TerminalEvent = DoneEvent | ErrorEvent;
export type RunnerMessage = RunnerCommand | RunnerEvent;

/** Events without runId/seq, as the job produces them. */
export type EventBody = RunnerEvent extends infer E ? (E extends RunnerEvent ? Omit<E, "runId" | "seq"> : never) : never;

export function isTerminal(ev: RunnerEvent): ev is TerminalEvent {
  return ev.type === "done" || ev.type === "error";
}

/**
 * The ArrayBuffers to transfer with msg: those of typed arrays that own their whole buffer
 * (a view into a shared buffer is cloned, so transferring never detaches someone else's data).
 */
export function transferList(msg: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const walk = (v: unknown) => {
    if (v === null || typeof v !== "object") return;
    if (ArrayBuffer.isView(v)) {
      const buf = v.buffer;
      if (buf instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === buf.byteLength) out.add(buf);
      return;
    }
    if (Array.isArray(v)) v.forEach(walk);
    else for (const x of Object.values(v)) walk(x);
  };
  walk(msg);
  return [...out];
}
