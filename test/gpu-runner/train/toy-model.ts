/**
 * A small, real, differentiable causal "language model" in plain TS, with an exact analytic
 * gradient: a test fixture that lets the training and extraction tests run without ONNX, with
 * gradients checked against finite differences. It is not a wire type: runner tests use a real
 * tiny checkpoint (test/fixtures/tiny-checkpoint.ts).
 *
 *   x_t   = E[id_t], or prompt row i at the i-th soft position          (E: [V, d], tied output)
 *   h0_t  = mean_{s<=t} x_s                                              (causal mixing)
 *   a^l_t = tanh(W1^l h^l_t)   [dFF]  -- the tapped FFN neurons
 *   h^{l+1}_t = h^l_t + W2^l a^l_t
 *   logits_t = E h^L_t
 * Weights are drawn from a seed and frozen. Arithmetic is float64.
 */
import type { EncodedBatch, EncodedSample } from "../../../gpu-runner/train/layout.js";
import type { EvalOutput, LossAndGrad, PromptModel, TapSpec, TextCodec } from "../../../gpu-runner/train/prompt-model.js";
import { Rng } from "../../../gpu-runner/train/rng.js";
import { tokenScoresFromLogits } from "../../../gpu-runner/train/scoring.js";
import { badInput } from "../../../gpu-runner/train/errors.js";

export interface ToyModelConfig {
  readonly vocabSize: number;
  readonly dModel: number;
  readonly dFF: number;
  readonly nLayers: number;
  readonly seed: number;
}

export class ToyPromptModel implements PromptModel {
  readonly dModel: number;
  readonly nLayers: number;
  readonly dFF: number;
  readonly vocabSize: number;
  readonly neuronDefinition = "tanh(W1 h)";
  private readonly E: Float64Array; // [V, d]
  private readonly W1: Float64Array[]; // per layer [F, d]
  private readonly W2: Float64Array[]; // per layer [d, F]

  constructor(config: ToyModelConfig) {
    for (const k of ["vocabSize", "dModel", "dFF", "nLayers"] as const) {
      if (!Number.isInteger(config[k]) || config[k] < 1) throw badInput(`toy model: ${k} must be a positive integer, got ${String(config[k])}`);
    }
    this.vocabSize = config.vocabSize;
    this.dModel = config.dModel;
    this.dFF = config.dFF;
    this.nLayers = config.nLayers;
    const rng = Rng.fromSeed(config.seed);
    const d = this.dModel;
    const F = this.dFF;
    this.E = gaussian(rng, this.vocabSize * d, 1);
    this.W1 = [];
    this.W2 = [];
    for (let l = 0; l < this.nLayers; l++) {
      this.W1.push(gaussian(rng, F * d, 1 / Math.sqrt(d)));
      this.W2.push(gaussian(rng, d * F, 1 / Math.sqrt(F)));
    }
  }

  async lossAndGrad(batch: EncodedBatch, prompt: Float32Array): Promise<LossAndGrad> {
    const { loss, grad } = this.lossAndGrad64(batch, prompt);
    return { loss, grad: Float32Array.from(grad), tokens: batch.answerTokens };
  }

  /** Exact loss and gradient in float64 (also the finite-difference target in tests). */
  lossAndGrad64(batch: EncodedBatch, prompt: ArrayLike<number>): { loss: number; grad: Float64Array } {
    this.checkPrompt(batch, prompt);
    const d = this.dModel;
    const V = this.vocabSize;
    const L = this.nLayers;
    const T = batch.seqLen;
    const grad = new Float64Array(prompt.length);
    const h0 = new Float64Array(T * d);
    const acts = Array.from({ length: L }, () => new Float64Array(this.dFF));
    const h = new Float64Array(d);
    const logits = new Float64Array(V);
    const dh = new Float64Array(d);
    const dh0 = new Float64Array(T * d); // d(loss)/d(h0_t)
    const scale = 1 / batch.answerTokens;
    let nll = 0;
    for (let r = 0; r < batch.size; r++) {
      this.causalMean(batch, r, prompt, h0);
      dh0.fill(0);
      for (let j = 0; j < batch.answerLength[r]; j++) {
        const t = batch.answerTargetPositions[r * batch.maxAnswerLength + j];
        const gold = batch.answerIds[r * batch.maxAnswerLength + j];
        this.positionForward(h0, t, acts, h);
        this.logits(h, logits);
        const lse = logSumExp(logits);
        nll += lse - logits[gold];
        // dlogits = (softmax - onehot) * scale; dh = E^T dlogits
        dh.fill(0);
        for (let k = 0; k < V; k++) {
          const g = (Math.exp(logits[k] - lse) - (k === gold ? 1 : 0)) * scale;
          if (g === 0) continue;
          const row = k * d;
          for (let c = 0; c < d; c++) dh[c] += g * this.E[row + c];
        }
        this.positionBackward(acts, dh);
        for (let c = 0; c < d; c++) dh0[t * d + c] += dh[c];
      }
      // h0_t = (1/(t+1)) sum_{s<=t} x_s  =>  dx_s = sum_{t>=s} dh0_t / (t+1)
      const len = batch.lengths[r];
      const acc = new Float64Array(d);
      for (let t = len - 1; t >= 0; t--) {
        const inv = 1 / (t + 1);
        for (let c = 0; c < d; c++) acc[c] += dh0[t * d + c] * inv;
        const i = batch.softIndex[r * T + t];
        if (i >= 0) for (let c = 0; c < d; c++) grad[i * d + c] += acc[c];
      }
    }
    return { loss: nll * scale, grad };
  }

  async evaluate(batch: EncodedBatch, prompt: Float32Array, taps: TapSpec | null): Promise<EvalOutput> {
    this.checkPrompt(batch, prompt);
    const d = this.dModel;
    const V = this.vocabSize;
    const F = this.dFF;
    const T = batch.seqLen;
    const A = batch.maxAnswerLength;
    const n = batch.promptLength;
    if (taps) for (const l of taps.layers) if (!Number.isInteger(l) || l < 0 || l >= this.nLayers) throw badInput(`tap layer ${l} is outside 0..${this.nLayers - 1}`);
    const P = taps?.positions === "all" ? T : n;
    const answerLogits = new Float32Array(batch.size * A * V);
    const tapOut = (taps?.layers ?? []).map(() => new Float32Array(batch.size * P * F));
    const h0 = new Float64Array(T * d);
    const acts = Array.from({ length: this.nLayers }, () => new Float64Array(F));
    const h = new Float64Array(d);
    const logits = new Float64Array(V);
    for (let r = 0; r < batch.size; r++) {
      this.causalMean(batch, r, prompt, h0);
      for (let j = 0; j < batch.answerLength[r]; j++) {
        const t = batch.answerTargetPositions[r * A + j];
        this.positionForward(h0, t, acts, h);
        this.logits(h, logits);
        answerLogits.set(logits, (r * A + j) * V);
      }
      if (!taps) continue;
      for (let p = 0; p < P; p++) {
        const t = taps.positions === "all" ? p : batch.softPositions[r * n + p];
        if (t >= batch.lengths[r]) continue;
        this.positionForward(h0, t, acts, h);
        taps.layers.forEach((l, k) => tapOut[k].set(acts[l], (r * P + p) * F));
      }
    }
    return { answers: tokenScoresFromLogits(batch, answerLogits, V), taps: tapOut };
  }

  async embeddingRows(ids: ArrayLike<number>): Promise<Float32Array> {
    const d = this.dModel;
    const out = new Float32Array(ids.length * d);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw badInput(`embedding row ${id} is outside 0..${this.vocabSize - 1}`);
      for (let c = 0; c < d; c++) out[i * d + c] = this.E[id * d + c];
    }
    return out;
  }

  async releaseTraining(): Promise<void> {}

  async dispose(): Promise<void> {}

  private checkPrompt(batch: EncodedBatch, prompt: ArrayLike<number>): void {
    if (prompt.length !== batch.promptLength * this.dModel) {
      throw badInput(`prompt has ${prompt.length} values; expected promptLength*dModel = ${batch.promptLength}*${this.dModel}`);
    }
    for (let i = 0; i < batch.inputIds.length; i++) {
      if (batch.inputIds[i] >= this.vocabSize) throw badInput(`token id ${batch.inputIds[i]} is outside the toy vocabulary (size ${this.vocabSize})`);
    }
  }

  /** h0 [T, d] <- causal running mean of the inputs of row r (positions < length). */
  private causalMean(batch: EncodedBatch, r: number, prompt: ArrayLike<number>, h0: Float64Array): void {
    const d = this.dModel;
    const T = batch.seqLen;
    const sum = new Float64Array(d);
    h0.fill(0);
    for (let t = 0; t < batch.lengths[r]; t++) {
      const i = batch.softIndex[r * T + t];
      if (i >= 0) for (let c = 0; c < d; c++) sum[c] += prompt[i * d + c];
      else {
        const row = batch.inputIds[r * T + t] * d;
        for (let c = 0; c < d; c++) sum[c] += this.E[row + c];
      }
      const inv = 1 / (t + 1);
      for (let c = 0; c < d; c++) h0[t * d + c] = sum[c] * inv;
    }
  }

  /** h <- h^L_t, acts[l] <- a^l_t, starting from h0[t]. */
  private positionForward(h0: Float64Array, t: number, acts: Float64Array[], h: Float64Array): void {
    const d = this.dModel;
    const F = this.dFF;
    for (let c = 0; c < d; c++) h[c] = h0[t * d + c];
    for (let l = 0; l < this.nLayers; l++) {
      const W1 = this.W1[l];
      const W2 = this.W2[l];
      const a = acts[l];
      for (let f = 0; f < F; f++) {
        let z = 0;
        for (let c = 0; c < d; c++) z += W1[f * d + c] * h[c];
        a[f] = Math.tanh(z);
      }
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let f = 0; f < F; f++) s += W2[c * F + f] * a[f];
        h[c] += s;
      }
    }
  }

  /** dh: d(loss)/d(h^L) in, d(loss)/d(h^0) out, using the activations of the last positionForward. */
  private positionBackward(acts: Float64Array[], dh: Float64Array): void {
    const d = this.dModel;
    const F = this.dFF;
    const dz = new Float64Array(F);
    for (let l = this.nLayers - 1; l >= 0; l--) {
      const W1 = this.W1[l];
      const W2 = this.W2[l];
      const a = acts[l];
      for (let f = 0; f < F; f++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += W2[c * F + f] * dh[c];
        dz[f] = s * (1 - a[f] * a[f]);
      }
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let f = 0; f < F; f++) s += W1[f * d + c] * dz[f];
        dh[c] += s;
      }
    }
  }

  private logits(h: Float64Array, out: Float64Array): void {
    const d = this.dModel;
    for (let k = 0; k < this.vocabSize; k++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += this.E[k * d + c] * h[c];
      out[k] = s;
    }
  }
}

/** Toy text codec: tokens are decimal ids separated by spaces; instructions start with BOS id 1; pad id 0. */
export class ToyTextCodec implements TextCodec {
  readonly padId = 0;
  readonly bosId = 1;
  constructor(readonly vocabSize: number) {}

  /** Word-level ids, so instruction and answer tokenize apart; BOS first and kept under truncation. */
  async encodePair(instruction: string, answer: string): Promise<EncodedSample> {
    return { instructionIds: [this.bosId, ...this.parse(instruction, "instruction")], answerIds: this.parse(answer, "answer"), keepFirst: 1 };
  }

  async encodeAnswer(text: string): Promise<number[]> {
    return this.parse(text, "answer");
  }

  async decode(ids: readonly number[]): Promise<string> {
    return ids.join(" ");
  }

  private parse(text: string, field: string): number[] {
    const words = text.trim() === "" ? [] : text.trim().split(/\s+/);
    return words.map((w) => {
      const id = Number(w);
      if (!/^\d+$/.test(w) || id >= this.vocabSize) {
        throw badInput(`toy tokenizer: ${field} word "${w}" is not a token id in 0..${this.vocabSize - 1}`);
      }
      return id;
    });
  }
}

function gaussian(rng: Rng, n: number, scale: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

function logSumExp(x: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - max);
  return max + Math.log(s);
}
