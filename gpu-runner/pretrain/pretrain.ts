/**
 * The pretraining loop: packed corpus batches -> one ORT run (loss + every parameter's
 * gradient) -> global-norm clipping -> AdamW in JS. Deterministic from the seed (parameters,
 * corpus stream and step order all derive from it; ORT's CPU kernels are deterministic for a
 * fixed thread count up to float summation order).
 */
import { GraphSession, type TensorValue } from "../graph/index.js";
import { Adam } from "../train/adam.js";
import { DocStream, nextBatch } from "./batches.js";
import { DEFAULT_CORPUS, type CorpusOptions } from "./corpus.js";
import { gpt2ParamSpecs, initParams, type Gpt2Shape, type ParamSpec } from "./gpt2-params.js";
import type { WordCodec } from "./tokenizer.js";
import { buildTrainGraph, gradName } from "./train-graph.js";

export interface PretrainOptions {
  readonly seed: number;
  readonly steps: number;
  readonly batch: number;
  /** T: positions per row (<= n_positions). */
  readonly seqLen: number;
  /** Peak learning rate, reached after `warmup` steps, then cosine decay to `minLrRatio` x peak. */
  readonly lr: number;
  readonly warmup: number;
  readonly minLrRatio: number;
  /** Decoupled weight decay on matrices (AdamW). */
  readonly weightDecay: number;
  /** Global gradient-norm clip. */
  readonly clip: number;
  /** Weight of the L1 penalty on FFN activations (see TrainGraphOptions.ffnL1); 0: none. */
  readonly ffnL1: number;
  readonly threads?: number;
  readonly corpus?: CorpusOptions;
  /** Called after each step with its loss; return nothing. */
  readonly onStep?: (info: StepInfo) => void;
}

export interface StepInfo {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  /** Mean |FFN activation| of the step's batch (what ffnL1 weighs). */
  readonly ffnL1: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly tokens: number;
  readonly elapsedSec: number;
}

/**
 * The committed demo model's settings. The L1 penalty weighs the mean |activation| over all neurons,
 * so one neuron's share of it scales as 1/d_ff: 0.45 at DEMO_SHAPE's d_ff 3072 presses each neuron as
 * 0.15 did at 1024 (issue #15's measurements, README "The demo's three experiments").
 */
export const DEFAULT_PRETRAIN: Omit<PretrainOptions, "seed"> = {
  steps: 2000, batch: 32, seqLen: 64, lr: 3e-3, warmup: 60, minLrRatio: 0.1, weightDecay: 0.01, clip: 1, ffnL1: 0.45,
};

export interface PretrainResult {
  readonly specs: ParamSpec[];
  readonly params: Map<string, Float32Array>;
  /** Loss per step. */
  readonly losses: number[];
  readonly seconds: number;
  readonly tokens: number;
}

export function learningRate(step: number, o: Pick<PretrainOptions, "lr" | "warmup" | "minLrRatio" | "steps">): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const progress = (step - o.warmup) / Math.max(1, o.steps - o.warmup);
  return o.lr * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}

/** Trains a fresh GPT-2 of `shape` on the corpus; parameters come from `seed`, the corpus from `seed + 1`. */
export async function pretrain(shape: Gpt2Shape, codec: WordCodec, options: PretrainOptions): Promise<PretrainResult> {
  const o = options;
  if (shape.vocabSize !== codec.vocabSize) throw new RangeError(`model vocab ${shape.vocabSize} differs from the tokenizer's ${codec.vocabSize}`);
  const specs = gpt2ParamSpecs(shape);
  const params = initParams(specs, o.seed);
  const graph = buildTrainGraph(shape, { batch: o.batch, seqLen: o.seqLen, withGrad: true, withLogits: false, ffnL1: o.ffnL1 });
  const session = await GraphSession.create(graph, { intraOpThreads: o.threads });
  const optimizers = new Map(specs.map((s) => [s.name, new Adam(params.get(s.name)!.length, {
    lr: o.lr, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: s.decay ? o.weightDecay : 0, weightDecayMode: "decoupled",
  })]));
  const stream = new DocStream(o.seed + 1, codec, o.corpus ?? DEFAULT_CORPUS);
  const losses: number[] = [];
  const start = performance.now();
  let tokens = 0;
  try {
    for (let step = 0; step < o.steps; step++) {
      const batch = nextBatch(stream, o.batch, o.seqLen);
      const feeds: Record<string, TensorValue> = {
        input_ids: { data: batch.inputIds, shape: [o.batch, o.seqLen] },
        targets: { data: batch.targets, shape: [o.batch, o.seqLen] },
        loss_mask: { data: batch.lossMask, shape: [o.batch, o.seqLen] },
      };
      for (const s of specs) feeds[s.name] = { data: params.get(s.name)!, shape: s.shape };
      const out = await session.run(feeds);
      const loss = out.loss.data[0] as number;
      const ffnL1 = out.ffn_l1.data[0] as number;
      if (!Number.isFinite(loss)) throw new Error(`pretraining diverged: loss ${loss} at step ${step}; lower --lr`);
      const grads = specs.map((s) => out[gradName(s.name)].data as Float32Array);
      let sq = 0;
      for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
      const gradNorm = Math.sqrt(sq);
      const scale = gradNorm > o.clip ? o.clip / gradNorm : 1;
      const lr = learningRate(step, o);
      specs.forEach((s, k) => {
        const g = grads[k];
        if (scale !== 1) for (let i = 0; i < g.length; i++) g[i] *= scale;
        optimizers.get(s.name)!.step(params.get(s.name)!, g, lr);
      });
      losses.push(loss);
      tokens += batch.tokens;
      o.onStep?.({ step: step + 1, steps: o.steps, loss, ffnL1, lr, gradNorm, tokens, elapsedSec: (performance.now() - start) / 1000 });
    }
  } finally {
    await session.release();
  }
  return { specs, params, losses, seconds: (performance.now() - start) / 1000, tokens };
}
