/**
 * Forwards of S_val with an FFN intervention: one compiled session with answer-position logits
 * and intervention inputs for the experiment's layers, and one tap session for neuron statistics
 * (mean / sd over S_val, for mean and noise ablation).
 */
import { BatchInputError } from "../models/layout.js";
import { createSession, type InterventionValues, type LoadedModel, type ModelSession } from "../models/session.js";
import { RunnerError, badInput } from "../train/errors.js";
import { buildBatch, type EncodedBatch, type EncodedSample, type LayoutOptions } from "../train/layout.js";
import { toSequences } from "../train/onnx-prompt-model.js";
import { scoreAnswers, tokenScoresFromLogits, type AnswerScores } from "../train/scoring.js";
import { throwIfCancelled, yieldToEventLoop } from "../train/train.js";
import type { InterventionPositions } from "./types.js";

/** Per (experiment layer, neuron) statistics over S_val at the intervened positions: [I*F] each, float64. */
export interface NeuronStats {
  readonly mean: Float64Array;
  /** Population standard deviation over (sample, position) pairs. */
  readonly sd: Float64Array;
}

export interface ForwardOutput {
  readonly scores: AnswerScores;
  /** [Q, V] logits at the answer positions, sequence-major (row q predicts answer token q). */
  readonly logits: Float32Array;
}

export class CausalEvaluator {
  private statsSession: ModelSession | undefined;

  private constructor(
    readonly model: LoadedModel,
    /** Experiment layers, ascending; slot i of scale/offset is layers[i]. */
    readonly layers: readonly number[],
    readonly positions: InterventionPositions,
    readonly promptLength: number,
    private readonly session: ModelSession,
  ) {}

  static async open(model: LoadedModel, layers: readonly number[], positions: InterventionPositions, promptLength: number): Promise<CausalEvaluator> {
    const sorted = [...new Set(layers)].sort((a, b) => a - b);
    const session = await wrap(() => createSession(model, {
      softPromptLength: promptLength, logits: "loss", intervene: { layers: sorted, positions },
    }));
    return new CausalEvaluator(model, sorted, positions, promptLength, session);
  }

  get dFF(): number {
    return this.model.config.dFF;
  }

  /** Row of `layer` in scale/offset arrays. */
  slot(layer: number): number {
    const i = this.layers.indexOf(layer);
    if (i < 0) throw new RunnerError("INTERNAL", `layer ${layer} is not one of the experiment's layers [${this.layers}]`);
    return i;
  }

  /** Forward one batch; no `values` = no intervention (bit-identical to the plain graph). */
  async forward(batch: EncodedBatch, prompt: Float32Array, values?: InterventionValues): Promise<ForwardOutput> {
    const out = await wrap(() => this.session.run({ sequences: toSequences(batch), softPrompt: prompt, intervention: values }));
    const logits = out.logits!;
    const V = this.model.config.vocabSize;
    const scores = scoreAnswers(batch, tokenScoresFromLogits(batch, toAnswerLogits(batch, logits, V), V));
    for (let r = 0; r < batch.size; r++) {
      if (!Number.isFinite(scores.loss[r])) throw new RunnerError("NON_FINITE", `causal forward: sample ${batch.sampleIdx[r]} has loss ${scores.loss[r]}`);
    }
    return { scores, logits };
  }

  /** Mean and sd of every neuron of the experiment's layers over all samples and intervened positions. */
  async neuronStats(samples: readonly EncodedSample[], layout: LayoutOptions, prompt: Float32Array, batchSize: number, signal?: AbortSignal): Promise<NeuronStats> {
    this.statsSession ??= await wrap(() => createSession(this.model, {
      softPromptLength: this.promptLength, taps: this.layers, tapPositions: this.positions,
    }));
    const F = this.dFF;
    const I = this.layers.length;
    const sum = new Float64Array(I * F);
    const sumSq = new Float64Array(I * F);
    // sums shifted by each neuron's first value keep the variance accurate for large means
    const shift = new Float64Array(I * F);
    let count = 0;
    for (let start = 0; start < samples.length; start += batchSize) {
      throwIfCancelled(signal);
      const idx = range(start, Math.min(samples.length, start + batchSize));
      const batch = buildBatch(samples, idx, layout);
      const out = await wrap(() => this.statsSession!.run({ sequences: toSequences(batch), softPrompt: prompt }));
      const T = out.layout.seqLen;
      const rows: number[] = []; // intervened rows of each tap: [B*n, F] (soft) or [B*T, F] (all)
      for (let b = 0; b < batch.size; b++) {
        if (this.positions === "soft") for (let j = 0; j < this.promptLength; j++) rows.push(b * this.promptLength + j);
        else for (let t = 0; t < out.layout.lengths[b]; t++) rows.push(b * T + t);
      }
      this.layers.forEach((layer, i) => {
        const a = out.ffn.get(layer)!;
        if (count === 0) for (let f = 0; f < F; f++) shift[i * F + f] = a[rows[0] * F + f];
        for (const row of rows) {
          for (let f = 0; f < F; f++) {
            const x = a[row * F + f] - shift[i * F + f];
            sum[i * F + f] += x;
            sumSq[i * F + f] += x * x;
          }
        }
      });
      count += rows.length;
      await yieldToEventLoop();
    }
    const mean = new Float64Array(I * F);
    const sd = new Float64Array(I * F);
    for (let k = 0; k < I * F; k++) {
      const m = sum[k] / count;
      mean[k] = shift[k] + m;
      sd[k] = Math.sqrt(Math.max(0, sumSq[k] / count - m * m));
    }
    return { mean, sd };
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.statsSession?.release();
  }
}

/** [Q, V] sequence-major answer rows -> [B, A, V] as tokenScoresFromLogits expects. */
function toAnswerLogits(batch: EncodedBatch, logits: Float32Array, V: number): Float32Array {
  const A = batch.maxAnswerLength;
  const out = new Float32Array(batch.size * A * V);
  let q = 0;
  for (let r = 0; r < batch.size; r++) {
    for (let j = 0; j < batch.answerLength[r]; j++, q++) out.set(logits.subarray(q * V, (q + 1) * V), (r * A + j) * V);
  }
  return out;
}

export function range(start: number, end: number): Int32Array {
  return Int32Array.from({ length: end - start }, (_, i) => start + i);
}

/** Model-layer input errors become the runner's BAD_INPUT. */
async function wrap<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof BatchInputError) throw badInput(e.message);
    throw e;
  }
}
