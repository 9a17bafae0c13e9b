/**
 * Soft-prompt training loop: seeded init, seeded minibatch shuffles, gradient accumulation,
 * Adam, validation every k steps, early stopping on validation loss, best prompt kept,
 * checkpoints that resume to exactly the uninterrupted trajectory, cancellation at any microbatch.
 */
import { Adam, type AdamOptions, type AdamState } from "./adam.js";
import { RunnerError, badInput } from "./errors.js";
import { buildBatch, type EncodedSample, type LayoutOptions } from "./layout.js";
import type { PromptModel } from "./prompt-model.js";
import { Rng, type RngState } from "./rng.js";
import { scoreAnswers } from "./scoring.js";

/**
 * vocab (default): embeddings of n tokens sampled uniformly from the vocabulary, so the prompt starts
 * at the scale of the model's own inputs (Lester et al.'s sampled-vocabulary init; PEFT's TEXT init is
 * "ids"); normal: seeded Gaussian of the given scale per coordinate (20-30x Qwen/Llama embedding
 * scale at 0.5); ids: embeddings of the given tokens, repeated to length n (the runner makes them
 * from an init text).
 */
export type PromptInit =
  | { readonly kind: "normal"; readonly scale: number }
  | { readonly kind: "vocab" }
  | { readonly kind: "ids"; readonly ids: readonly number[] };

export interface TrainConfig {
  readonly seed: number;
  readonly init: PromptInit;
  readonly adam: Partial<AdamOptions>;
  /** Samples per forward/backward. */
  readonly batchSize: number;
  /** Microbatches per optimizer step. */
  readonly gradAccumulation: number;
  /** Stop after this many optimizer steps and/or this many epochs (the smaller wins; one is required). */
  readonly maxSteps?: number;
  readonly epochs?: number;
  readonly schedule: "constant" | "linear";
  readonly warmupSteps: number;
  /** Clip the accumulated gradient to this global L2 norm (0 = off). */
  readonly clipNorm: number;
  /** Validate every k steps (and after the last step); 0 validates only at the end. */
  readonly evalEvery: number;
  readonly evalBatchSize: number;
  /** Validate on the first m validation samples only (0 = all). */
  readonly valMaxSamples: number;
  /** Stop after this many validations without improving the best validation loss by more than minDelta (0 = never). */
  readonly patience: number;
  readonly minDelta: number;
  /** Emit a checkpoint every c steps (0 = only at the end and on cancel). */
  readonly checkpointEvery: number;
}

export const DEFAULT_TRAIN: TrainConfig = {
  seed: 0,
  init: { kind: "vocab" },
  adam: { lr: 3e-2 },
  batchSize: 8,
  gradAccumulation: 1,
  maxSteps: 200,
  schedule: "constant",
  warmupSteps: 0,
  clipNorm: 0,
  evalEvery: 20,
  evalBatchSize: 16,
  valMaxSamples: 0,
  patience: 0,
  minDelta: 0,
  checkpointEvery: 0,
};

/** Everything needed to continue a run exactly where it stopped (step boundary). */
export interface TrainCheckpoint {
  readonly step: number;
  readonly totalSteps: number;
  readonly promptLength: number;
  readonly dModel: number;
  readonly prompt: Float32Array;
  readonly optimizer: AdamState;
  readonly epoch: number;
  /** Next position in the current epoch's order. */
  readonly cursor: number;
  /** Generator state just before the current epoch's shuffle (replays the order and the stream). */
  readonly epochRng: RngState;
  readonly best: BestPrompt | null;
  readonly evalsSinceBest: number;
  /** Loss of optimizer step `step` (NaN before the first), so a run resumed after its last step still reports it. */
  readonly lastLoss?: number;
  /** Seconds spent training up to this checkpoint, over every attempt. */
  readonly seconds?: number;
  /** True when a cancel interrupted step `step`'s validation: a resumed run validates that step first. */
  readonly evalPending?: boolean;
}

export interface BestPrompt {
  readonly step: number;
  readonly valLoss: number;
  readonly valAccuracy: number;
  readonly prompt: Float32Array;
}

export interface TrainProgress {
  readonly step: number;
  readonly totalSteps: number;
  /** Fractional epochs done. */
  readonly epoch: number;
  /** Mean answer-token cross-entropy of this step's accumulated batch. */
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  /** Non-padding tokens (instruction + soft + answer) processed per second since this process started training. */
  readonly tokensPerSec: number;
  readonly etaSec: number;
}

export interface TrainHooks {
  onProgress?(p: TrainProgress): void;
  onCheckpoint?(c: TrainCheckpoint): void;
  signal?: AbortSignal;
  resume?: TrainCheckpoint;
}

export interface TrainResult {
  /** The prompt with the best validation loss (the final prompt when nothing was validated). */
  readonly prompt: Float32Array;
  readonly finalPrompt: Float32Array;
  readonly best: BestPrompt | null;
  readonly steps: number;
  readonly epochs: number;
  readonly stoppedEarly: boolean;
  readonly finalLoss: number;
  /** Seconds spent training, over every attempt (a resumed run counts the time before its checkpoint). */
  readonly seconds: number;
  readonly lastCheckpoint: TrainCheckpoint;
}

export function resolveTrainConfig(config: Partial<TrainConfig>): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_TRAIN, ...config, maxSteps: "maxSteps" in config ? config.maxSteps : config.epochs !== undefined ? undefined : DEFAULT_TRAIN.maxSteps };
  const int = (name: string, v: unknown, min: number) => {
    if (!Number.isInteger(v) || (v as number) < min) throw badInput(`train.${name} must be an integer >= ${min}, got ${String(v)}`);
  };
  int("seed", c.seed, -(2 ** 31));
  int("batchSize", c.batchSize, 1);
  int("gradAccumulation", c.gradAccumulation, 1);
  int("warmupSteps", c.warmupSteps, 0);
  int("evalEvery", c.evalEvery, 0);
  int("evalBatchSize", c.evalBatchSize, 1);
  int("valMaxSamples", c.valMaxSamples, 0);
  int("patience", c.patience, 0);
  int("checkpointEvery", c.checkpointEvery, 0);
  if (c.maxSteps === undefined && c.epochs === undefined) throw badInput("train: give maxSteps or epochs");
  if (c.maxSteps !== undefined) int("maxSteps", c.maxSteps, 1);
  if (c.epochs !== undefined && !(Number.isFinite(c.epochs) && c.epochs > 0)) throw badInput(`train.epochs must be a positive number, got ${String(c.epochs)}`);
  if (!(c.clipNorm >= 0)) throw badInput(`train.clipNorm must be >= 0, got ${String(c.clipNorm)}`);
  if (!(c.minDelta >= 0)) throw badInput(`train.minDelta must be >= 0, got ${String(c.minDelta)}`);
  if (c.schedule !== "constant" && c.schedule !== "linear") throw badInput(`train.schedule must be "constant" or "linear", got ${String(c.schedule)}`);
  if (c.init?.kind === "normal") {
    if (!(Number.isFinite(c.init.scale) && c.init.scale > 0)) throw badInput(`train.init.scale must be a positive number, got ${String(c.init.scale)}`);
  } else if (c.init?.kind === "ids") {
    if (!c.init.ids.every((id) => Number.isInteger(id) && id >= 0)) throw badInput("train.init.ids must be token ids");
  } else if (c.init?.kind !== "vocab") {
    throw badInput(`train.init.kind must be "normal", "vocab" or "ids"`);
  }
  return c;
}

/** Optimizer steps the run will take for nTrain samples. */
export function plannedSteps(config: TrainConfig, nTrain: number): number {
  const microPerEpoch = Math.ceil(nTrain / config.batchSize);
  const byEpochs = config.epochs !== undefined ? Math.max(1, Math.ceil((config.epochs * microPerEpoch) / config.gradAccumulation)) : Infinity;
  return Math.min(config.maxSteps ?? Infinity, byEpochs);
}

/** Learning rate for optimizer step `step` (1-based). */
export function learningRate(config: TrainConfig, base: number, step: number, totalSteps: number): number {
  if (config.warmupSteps > 0 && step <= config.warmupSteps) return (base * step) / config.warmupSteps;
  if (config.schedule === "linear") {
    const span = Math.max(1, totalSteps - config.warmupSteps);
    return base * Math.max(0, (totalSteps - step + 1) / span);
  }
  return base;
}

/** Draw the initial prompt [n, dModel] from the seeded generator. */
export async function initPrompt(model: PromptModel, n: number, init: PromptInit, rng: Rng): Promise<Float32Array> {
  if (init.kind === "normal") {
    const p = new Float32Array(n * model.dModel);
    for (let i = 0; i < p.length; i++) p[i] = rng.normal() * init.scale;
    return p;
  }
  if (init.kind === "ids") {
    if (init.ids.length === 0) throw badInput("train.init: the init text has no tokens");
    return model.embeddingRows(Array.from({ length: n }, (_, i) => init.ids[i % init.ids.length]));
  }
  const ids = Array.from({ length: n }, () => rng.int(model.vocabSize));
  return model.embeddingRows(ids);
}

export interface ValidationResult {
  readonly loss: number;
  readonly accuracy: number;
}

/** Token-weighted mean answer loss and exact-match accuracy over samples. */
export async function validate(
  model: PromptModel, samples: readonly EncodedSample[], layout: LayoutOptions, prompt: Float32Array, batchSize: number, signal?: AbortSignal,
): Promise<ValidationResult> {
  let nll = 0;
  let tokens = 0;
  let correct = 0;
  for (let start = 0; start < samples.length; start += batchSize) {
    throwIfCancelled(signal);
    const idx = range(start, Math.min(samples.length, start + batchSize));
    const batch = buildBatch(samples, idx, layout);
    const out = await model.evaluate(batch, prompt, null);
    const s = scoreAnswers(batch, out.answers);
    nll += s.nllSum;
    tokens += batch.answerTokens;
    for (let r = 0; r < batch.size; r++) correct += s.correct[r];
    await yieldToEventLoop();
  }
  return { loss: nll / tokens, accuracy: correct / samples.length };
}

export async function trainPrompt(
  model: PromptModel,
  data: { readonly train: readonly EncodedSample[]; readonly val: readonly EncodedSample[] },
  layout: LayoutOptions,
  configIn: Partial<TrainConfig>,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const config = resolveTrainConfig(configIn);
  const N = data.train.length;
  if (N === 0) throw badInput("train: the training split has no samples");
  const n = layout.promptLength;
  const size = n * model.dModel;
  const val = config.valMaxSamples > 0 ? data.val.slice(0, config.valMaxSamples) : data.val;
  const totalSteps = plannedSteps(config, N);

  let rng: Rng;
  let prompt: Float32Array;
  let adam: Adam;
  let step: number;
  let epoch: number;
  let cursor: number;
  let epochRng: RngState;
  let order: Int32Array;
  let best: BestPrompt | null;
  let evalsSinceBest: number;
  const resume = hooks.resume;
  if (resume) {
    checkResume(resume, n, model.dModel, totalSteps);
    rng = Rng.fromState(resume.epochRng);
    epochRng = resume.epochRng;
    order = rng.shuffle(identity(N));
    prompt = Float32Array.from(resume.prompt);
    adam = new Adam(size, config.adam, resume.optimizer);
    step = resume.step;
    epoch = resume.epoch;
    cursor = resume.cursor;
    best = resume.best ? { ...resume.best, prompt: Float32Array.from(resume.best.prompt) } : null;
    evalsSinceBest = resume.evalsSinceBest;
  } else {
    rng = Rng.fromSeed(config.seed);
    prompt = await initPrompt(model, n, config.init, rng);
    if (prompt.length !== size) throw new RunnerError("INTERNAL", `prompt init returned ${prompt.length} values, expected ${size}`);
    adam = new Adam(size, config.adam);
    step = 0;
    epoch = 0;
    cursor = 0;
    epochRng = rng.state();
    order = rng.shuffle(identity(N));
    best = null;
    evalsSinceBest = 0;
  }

  const t0 = performance.now();
  const secondsBefore = resume?.seconds ?? 0;
  const trainedSeconds = () => secondsBefore + (performance.now() - t0) / 1000;
  const startStep = step;
  let tokensSeen = 0;
  let lastLoss = resume?.lastLoss ?? NaN;

  const checkpoint = (at: { step: number; epoch: number; cursor: number; epochRng: RngState }, evalPending = false): TrainCheckpoint => ({
    step: at.step, totalSteps, promptLength: n, dModel: model.dModel, prompt: Float32Array.from(prompt), optimizer: adam.state(),
    epoch: at.epoch, cursor: at.cursor, epochRng: at.epochRng,
    best: best ? { ...best, prompt: Float32Array.from(best.prompt) } : null, evalsSinceBest,
    lastLoss, seconds: trainedSeconds(), ...(evalPending ? { evalPending } : {}),
  });

  /** Validates the prompt after step `step` and updates the best prompt and early stopping; a cancel that lands
   * here still saves the step just taken, marked so that a resumed run repeats this validation. */
  const evaluate = async (): Promise<ValidationResult> => {
    let v: ValidationResult;
    try {
      v = await validate(model, val, layout, prompt, config.evalBatchSize, hooks.signal);
    } catch (e) {
      if (hooks.signal?.aborted) hooks.onCheckpoint?.(checkpoint({ step, epoch, cursor, epochRng }, true));
      throw e;
    }
    if (!best || v.loss < best.valLoss - config.minDelta) {
      best = { step, valLoss: v.loss, valAccuracy: v.accuracy, prompt: Float32Array.from(prompt) };
      evalsSinceBest = 0;
    } else {
      evalsSinceBest += 1;
      if (config.patience > 0 && evalsSinceBest >= config.patience) stoppedEarly = true;
    }
    return v;
  };

  // a run resumed from the checkpoint of an early stop stays stopped
  let stoppedEarly = resume !== undefined && config.patience > 0 && resume.evalsSinceBest >= config.patience;
  if (resume?.evalPending && val.length > 0) await evaluate();
  const grad = new Float32Array(size);
  let lastCheckpoint = checkpoint({ step, epoch, cursor, epochRng });

  while (step < totalSteps && !stoppedEarly) {
    const atStart = { step, epoch, cursor, epochRng };
    grad.fill(0);
    let nll = 0;
    let tokens = 0;
    for (let micro = 0; micro < config.gradAccumulation; micro++) {
      if (hooks.signal?.aborted) {
        hooks.onCheckpoint?.(checkpoint(atStart));
        throwIfCancelled(hooks.signal);
      }
      if (cursor >= N) {
        epoch += 1;
        cursor = 0;
        epochRng = rng.state();
        order = rng.shuffle(identity(N));
      }
      const idx = order.subarray(cursor, Math.min(N, cursor + config.batchSize));
      cursor += idx.length;
      const batch = buildBatch(data.train, idx, layout);
      const out = await model.lossAndGrad(batch, prompt);
      if (!Number.isFinite(out.loss)) throw new RunnerError("NON_FINITE", `training loss is ${out.loss} at step ${step + 1}; lower the learning rate or check the model weights`);
      // accumulate token-weighted so the step's loss is the mean over all its answer tokens
      for (let i = 0; i < size; i++) grad[i] += out.grad[i] * out.tokens;
      nll += out.loss * out.tokens;
      tokens += out.tokens;
      tokensSeen += batch.totalTokens;
      await yieldToEventLoop();
    }
    let norm2 = 0;
    for (let i = 0; i < size; i++) {
      grad[i] /= tokens;
      norm2 += grad[i] * grad[i];
    }
    const gradNorm = Math.sqrt(norm2);
    if (!Number.isFinite(gradNorm)) throw new RunnerError("NON_FINITE", `gradient norm is ${gradNorm} at step ${step + 1}; lower the learning rate or check the model weights`);
    if (config.clipNorm > 0 && gradNorm > config.clipNorm) {
      const k = config.clipNorm / gradNorm;
      for (let i = 0; i < size; i++) grad[i] *= k;
    }
    const lr = learningRate(config, adam.options.lr, step + 1, totalSteps);
    adam.step(prompt, grad, lr);
    step += 1;
    lastLoss = nll / tokens;

    let valLoss: number | undefined;
    let valAccuracy: number | undefined;
    const isLast = step === totalSteps;
    if (val.length > 0 && ((config.evalEvery > 0 && step % config.evalEvery === 0) || isLast)) {
      const v = await evaluate();
      valLoss = v.loss;
      valAccuracy = v.accuracy;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const perStep = elapsed / (step - startStep);
    hooks.onProgress?.({
      step, totalSteps, epoch: epoch + cursor / N, loss: lastLoss, lr, gradNorm, valLoss, valAccuracy,
      tokensPerSec: elapsed > 0 ? tokensSeen / elapsed : 0,
      etaSec: stoppedEarly ? 0 : perStep * (totalSteps - step),
    });
    if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) {
      lastCheckpoint = checkpoint({ step, epoch, cursor, epochRng });
      hooks.onCheckpoint?.(lastCheckpoint);
    }
  }
  if (lastCheckpoint.step !== step) {
    lastCheckpoint = checkpoint({ step, epoch, cursor, epochRng });
    hooks.onCheckpoint?.(lastCheckpoint);
  }
  return {
    prompt: best ? Float32Array.from(best.prompt) : Float32Array.from(prompt),
    finalPrompt: Float32Array.from(prompt),
    best,
    steps: step,
    epochs: epoch + cursor / N,
    stoppedEarly,
    finalLoss: lastLoss,
    seconds: trainedSeconds(),
    lastCheckpoint,
  };
}

function checkResume(c: TrainCheckpoint, n: number, dModel: number, totalSteps: number): void {
  if (c.promptLength !== n || c.dModel !== dModel || !(c.prompt instanceof Float32Array) || c.prompt.length !== n * dModel) {
    throw new RunnerError("BAD_CHECKPOINT", `checkpoint prompt is ${c.promptLength}x${c.dModel}; this run needs ${n}x${dModel} (same layout.promptLength and model)`);
  }
  if (!Number.isInteger(c.step) || c.step < 0 || c.step > totalSteps) {
    throw new RunnerError("BAD_CHECKPOINT", `checkpoint step ${String(c.step)} is outside 0..${totalSteps} for this configuration`);
  }
  if (!Number.isInteger(c.cursor) || c.cursor < 0 || !Number.isInteger(c.epoch) || c.epoch < 0) {
    throw new RunnerError("BAD_CHECKPOINT", "checkpoint cursor/epoch must be non-negative integers");
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new RunnerError("CANCELLED", "the run was cancelled");
}

/** Let queued messages (cancel) run between blocking computations. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

export function range(start: number, end: number): Int32Array {
  const a = new Int32Array(end - start);
  for (let i = 0; i < a.length; i++) a[i] = start + i;
  return a;
}
