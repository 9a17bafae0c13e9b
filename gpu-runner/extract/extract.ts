/**
 * Extraction: forward the validation samples with the trained prompt, score each sample's answer
 * and emit FFN activations per layer per batch as Float32Array [b, P, dFF] (each on its own buffer,
 * so it can be transferred).
 */
import { RunnerError, badInput } from "../train/errors.js";
import { buildBatch, type EncodedBatch, type EncodedSample, type LayoutOptions } from "../train/layout.js";
import type { PromptModel, TapSpec } from "../train/prompt-model.js";
import { scoreAnswers } from "../train/scoring.js";
import { throwIfCancelled, yieldToEventLoop } from "../train/train.js";
import { contentTokenFinder } from "./content-token.js";

export interface ExtractConfig {
  readonly batchSize: number;
  /** Layers to tap ("all" = every layer) and at which positions. */
  readonly layers: readonly number[] | "all";
  readonly positions: "soft" | "all";
  /**
   * "greedy": the prediction is true greedy decoding for the answer length (extra forwards for rows
   * whose teacher-forced argmax leaves the gold path); "teacher-forced": argmax at each answer position.
   */
  readonly decoding: "greedy" | "teacher-forced";
}

export const DEFAULT_EXTRACT: ExtractConfig = { batchSize: 16, layers: "all", positions: "soft", decoding: "greedy" };

/** One extraction batch's scored samples (the store keeps a run's as SampleOutputs, column-wise over every batch). */
export interface SampleOutputBatch {
  readonly batchId: number;
  /** [b] index of each row in the sample list. */
  readonly sampleIdx: Int32Array;
  /** [b] mean cross-entropy over the answer tokens. */
  readonly loss: Float64Array;
  /** [b] probability of the gold answer (product over its tokens). */
  readonly goldProb: Float64Array;
  /** [b] max token probability at the first answer position (nearly 1 when that is a lone word-boundary token). */
  readonly confidence: Float64Array;
  /** [b] index of the first answer token whose text is not only whitespace or a word-boundary marker; -1 when none is. */
  readonly contentToken: Int32Array;
  /** [b] cross-entropy of the gold token at contentToken (NaN where it is -1). */
  readonly contentLoss: Float64Array;
  /** [b] max token probability at contentToken (NaN where it is -1). */
  readonly contentConfidence: Float64Array;
  readonly predictionIds: number[][];
  readonly prediction: string[];
  /** [b] 1 when the prediction equals the gold answer. */
  readonly correct: Uint8Array;
}

export interface ActivationBatch {
  readonly batchId: number;
  readonly layer: number;
  /** [b] */
  readonly sampleIdx: Int32Array;
  /** [b, P] soft index 0..n-1 ("soft") or absolute token position, -1 on padding ("all"). */
  readonly positions: Int32Array;
  readonly nPositions: number;
  readonly dFF: number;
  /** [b, P, dFF]; padding positions are zero. */
  readonly data: Float32Array;
}

export interface ExtractHooks {
  readonly decode: (ids: readonly number[]) => Promise<string> | string;
  onSamples?(s: SampleOutputBatch): void;
  onActivations?(a: ActivationBatch): void;
  /** Called after each batch with (batches done, total batches). */
  onBatchDone?(done: number, total: number): void;
  readonly signal?: AbortSignal;
  /** Skip batches before this id (resuming an interrupted extraction; ids are stable for the same inputs). */
  readonly startBatch?: number;
}

export interface ExtractSummary {
  readonly samples: number;
  readonly batches: number;
  readonly accuracy: number;
  readonly meanLoss: number;
  readonly layers: readonly number[];
  readonly nPositions: number;
}

export function resolveExtractConfig(config: Partial<ExtractConfig>, nLayers: number): ExtractConfig & { layers: number[] } {
  const c = { ...DEFAULT_EXTRACT, ...config };
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) throw badInput(`extract.batchSize must be a positive integer, got ${String(c.batchSize)}`);
  if (c.positions !== "soft" && c.positions !== "all") throw badInput(`extract.positions must be "soft" or "all", got ${String(c.positions)}`);
  if (c.decoding !== "greedy" && c.decoding !== "teacher-forced") throw badInput(`extract.decoding must be "greedy" or "teacher-forced", got ${String(c.decoding)}`);
  let layers: number[];
  if (c.layers === "all") layers = Array.from({ length: nLayers }, (_, i) => i);
  else {
    if (!Array.isArray(c.layers)) throw badInput(`extract.layers must be "all" or an array of layer indices`);
    layers = [...new Set(c.layers)].sort((a, b) => a - b);
    for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= nLayers) throw badInput(`extract.layers: ${l} is outside 0..${nLayers - 1}`);
  }
  return { ...c, layers };
}

export async function extract(
  model: PromptModel, samples: readonly EncodedSample[], layout: LayoutOptions, prompt: Float32Array,
  configIn: Partial<ExtractConfig>, hooks: ExtractHooks,
): Promise<ExtractSummary> {
  const config = resolveExtractConfig(configIn, model.nLayers);
  if (samples.length === 0) throw badInput("extract: the validation split has no samples");
  const taps: TapSpec = { layers: config.layers, positions: config.positions };
  const F = model.dFF;
  const total = Math.ceil(samples.length / config.batchSize);
  let correct = 0;
  let lossSum = 0;
  let done = 0;
  const findContentToken = contentTokenFinder(hooks.decode);
  for (let batchId = hooks.startBatch ?? 0; batchId < total; batchId++) {
    throwIfCancelled(hooks.signal);
    const start = batchId * config.batchSize;
    const idx = new Int32Array(Math.min(samples.length, start + config.batchSize) - start);
    for (let r = 0; r < idx.length; r++) idx[r] = start + r;
    const batch = buildBatch(samples, idx, layout);
    const out = await model.evaluate(batch, prompt, taps);
    if (out.taps.length !== taps.layers.length) throw new RunnerError("INTERNAL", `model returned ${out.taps.length} tap tensors for ${taps.layers.length} layers`);
    const contentToken = new Int32Array(batch.size);
    for (let r = 0; r < batch.size; r++) contentToken[r] = await findContentToken(samples[idx[r]].answerIds);
    const s = scoreAnswers(batch, out.answers, contentToken);
    const predictionIds = config.decoding === "greedy"
      ? await greedyAnswers(model, samples, idx, layout, prompt, batch, s.argmax)
      : rows(batch, s.argmax);
    const goldProb = new Float64Array(batch.size);
    for (let r = 0; r < batch.size; r++) {
      goldProb[r] = Math.exp(s.goldLogProb[r]);
      if (!Number.isFinite(s.loss[r])) throw new RunnerError("NON_FINITE", `extraction: sample ${idx[r]} has loss ${s.loss[r]}`);
      correct += s.correct[r];
      lossSum += s.loss[r];
    }
    hooks.onSamples?.({
      batchId, sampleIdx: Int32Array.from(idx), loss: s.loss, goldProb, confidence: s.confidence,
      contentToken, contentLoss: s.contentLoss, contentConfidence: s.contentConfidence,
      predictionIds, prediction: await Promise.all(predictionIds.map((ids) => hooks.decode(ids))), correct: s.correct,
    });
    const P = config.positions === "soft" ? batch.promptLength : batch.seqLen;
    const positions = positionTable(batch, config.positions);
    taps.layers.forEach((layer, k) => {
      const src = out.taps[k];
      if (src.length !== batch.size * P * F) throw new RunnerError("INTERNAL", `tap for layer ${layer} has ${src.length} values, expected ${batch.size}x${P}x${F}`);
      // An array owning its whole buffer is sent as it is (transferred: no copy, which for 24 layers of a
      // 0.5B model is 150 MB per batch of 16); a view into a shared buffer is copied to make it transferable.
      const data = src.byteOffset === 0 && src.byteLength === src.buffer.byteLength ? src : new Float32Array(src);
      if (config.positions === "all") {
        for (let r = 0; r < batch.size; r++) data.fill(0, (r * P + batch.lengths[r]) * F, (r + 1) * P * F);
      }
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new RunnerError("NON_FINITE", `extraction: layer ${layer} activation ${i} of batch ${batchId} is ${data[i]}; check the model weights`);
      }
      hooks.onActivations?.({ batchId, layer, sampleIdx: Int32Array.from(idx), positions: Int32Array.from(positions), nPositions: P, dFF: F, data });
    });
    done += batch.size;
    hooks.onBatchDone?.(batchId + 1, total);
    await yieldToEventLoop();
  }
  return { samples: done, batches: total, accuracy: done ? correct / done : 0, meanLoss: done ? lossSum / done : 0, layers: taps.layers, nPositions: config.positions === "soft" ? layout.promptLength : -1 };
}

/** [B, P] position labels: soft index, or absolute position with -1 on padding. */
function positionTable(batch: EncodedBatch, mode: "soft" | "all"): Int32Array {
  const P = mode === "soft" ? batch.promptLength : batch.seqLen;
  const out = new Int32Array(batch.size * P);
  for (let r = 0; r < batch.size; r++) {
    for (let p = 0; p < P; p++) out[r * P + p] = mode === "soft" ? p : p < batch.lengths[r] ? p : -1;
  }
  return out;
}

function rows(batch: EncodedBatch, argmax: Int32Array): number[][] {
  const A = batch.maxAnswerLength;
  return Array.from({ length: batch.size }, (_, r) => Array.from(argmax.subarray(r * A, r * A + batch.answerLength[r])));
}

/**
 * True greedy decoding for the gold answer's length. The teacher-forced argmax at answer position j
 * is the greedy token whenever the inputs before j equal the greedy tokens, so each pass accepts
 * tokens up to and including the first one that differs from its input, substitutes it, and re-runs
 * only the rows still unfinished (at most A-1 extra passes).
 */
async function greedyAnswers(
  model: PromptModel, samples: readonly EncodedSample[], idx: Int32Array, layout: LayoutOptions, prompt: Float32Array,
  batch: EncodedBatch, argmax: Int32Array,
): Promise<number[][]> {
  const A = batch.maxAnswerLength;
  const inputs = Array.from({ length: batch.size }, (_, r) => Array.from(batch.answerIds.subarray(r * A, r * A + batch.answerLength[r])));
  const pred: number[][] = inputs.map(() => []);
  const accept = (r: number, am: ArrayLike<number>) => {
    const target = inputs[r].length;
    while (pred[r].length < target) {
      const j = pred[r].length;
      pred[r].push(am[j]);
      if (am[j] !== inputs[r][j]) {
        inputs[r][j] = am[j];
        break;
      }
    }
  };
  for (let r = 0; r < batch.size; r++) accept(r, argmax.subarray(r * A, (r + 1) * A));
  let pending = pred.map((p, r) => (p.length < inputs[r].length ? r : -1)).filter((r) => r >= 0);
  while (pending.length > 0) {
    const sub = pending.map((r) => ({ instructionIds: samples[idx[r]].instructionIds, answerIds: inputs[r] }));
    const subBatch = buildBatch(sub, sub.map((_, i) => i), layout);
    const out = await model.evaluate(subBatch, prompt, null);
    const s = scoreAnswers(subBatch, out.answers);
    const sa = subBatch.maxAnswerLength;
    pending.forEach((r, i) => accept(r, s.argmax.subarray(i * sa, (i + 1) * sa)));
    pending = pending.filter((r) => pred[r].length < inputs[r].length);
  }
  return pred;
}
