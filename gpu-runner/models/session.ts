import { GraphSession, type TensorValue } from "../graph/session.js";
import { loadModelDir, type ModelDir } from "../hf/model-dir.js";
import { buildGpt2Graph } from "./gpt2.js";
import { layoutBatch, BatchInputError, type BatchLayout, type SequenceInput } from "./layout.js";
import { buildLlamaGraph } from "./llama.js";
import type { ComputeDtype, GraphBuilder, GraphSpec } from "./spec.js";
import { WeightStore, type WeightPrecision } from "./weights.js";

export type Device = "cpu" | "cuda";

/** A model folder ready to compile sessions: config, tokenizer, tensor index, and the one copy of
 * the weights that all its sessions share (read on first use). */
export interface LoadedModel extends ModelDir {
  device: Device;
  /** Precision of every session's matrix products (see ComputeDtype). */
  compute: ComputeDtype;
  threads: number | undefined;
  weights: WeightStore;
}

export interface LoadOptions {
  device?: Device;
  threads?: number;
  /** See WeightPrecision; default "stored" ("float16", the only one allowed, under f16 compute). */
  weights?: WeightPrecision;
  /** See ComputeDtype; default "f32". "f16" holds the weights as float16 (WeightPrecision "float16"). */
  compute?: ComputeDtype;
  /** Largest float copy of one block of an LM head cast in blocks (default 64 MiB; small values let tests exercise blocks). */
  headBlockBytes?: number;
}

export function loadModel(dir: string, opts: LoadOptions = {}): LoadedModel {
  const compute = opts.compute ?? "f32";
  if (compute !== "f32" && compute !== "f16") throw new BatchInputError(`compute must be "f32" or "f16", got ${String(compute)}`);
  const half = compute === "f16";
  if (opts.weights !== undefined && (opts.weights === "float16") !== half) {
    throw new BatchInputError(`weights "${opts.weights}" does not go with compute "${compute}": f16 compute holds the weights as "float16", and only it does`);
  }
  const m = loadModelDir(dir);
  return { ...m, device: opts.device ?? "cpu", compute, threads: opts.threads, weights: new WeightStore(m.tensors, half ? "float16" : opts.weights ?? "stored", opts.headBlockBytes) };
}

/** What a session computes; see spec.ts for the graph contract. */
export interface SessionOptions {
  /** Soft prompt length n (0 = none). */
  softPromptLength?: number;
  /** Layers to tap (default none; "all" = every layer). */
  taps?: readonly number[] | "all";
  /** Tap every position ([B,T,F]) or only the soft positions ([B*n,F], sequence-major). Default "soft" when n > 0. */
  tapPositions?: "all" | "soft";
  /** Logits at every position [B,T,V], at each sequence's last real position [B,V], at the loss
   * positions [Q,V] (each row predicts one loss target), only their scores ("scores": the
   * log-softmax over V computed in the graph; RunResult.scores), or none. Default "none". */
  logits?: "all" | "last" | "loss" | "scores" | "none";
  /** Mean cross-entropy over every sequence's `lossLast` targets. */
  withLoss?: boolean;
  /** d loss / d soft_prompt [n, d]; implies withLoss. */
  withPromptGrad?: boolean;
  /**
   * Compile FFN intervention inputs for these layers, applied at the soft positions (default; needs
   * a soft prompt) or at every position. Runs without RunInput.intervention leave outputs bit-identical
   * to a session without it. Default: none.
   */
  intervene?: { readonly layers: readonly number[]; readonly positions?: "soft" | "all" };
}

/**
 * Per-run intervention values (I = intervene.layers.length, in that order; F = d_ff): neuron a of
 * layer intervene.layers[i] becomes a * scale[i, f] + offset[b, i, f] at the intervened positions.
 * Zero ablation: scale 0. Mean ablation: scale 0, offset = mean. Steering: scale = factor.
 */
export interface InterventionValues {
  /** [I*F]; default all ones. */
  scale?: Float32Array;
  /** [I*F] (every sequence) or [B*I*F] (per sequence); default zeros. */
  offset?: Float32Array;
}

export interface RunInput {
  sequences: readonly SequenceInput[];
  /** [n * d] row-major, required when the session has a soft prompt. */
  softPrompt?: Float32Array;
  /** Only for sessions created with `intervene`. */
  intervention?: InterventionValues;
}

/** Per loss position q (sequence-major, as BatchLayout.lossPos), from the f32 log-softmax over V. */
export interface LossPositionScores {
  /** [Q] log p(target token). */
  targetLogProb: Float32Array;
  /** [Q] max over the vocabulary of log p (log of the top token's probability). */
  maxLogProb: Float32Array;
  /** [Q] top token (first index on ties). */
  argmax: Int32Array;
}

export interface RunResult {
  layout: BatchLayout;
  /** See SessionOptions.logits for the shape. */
  logits?: Float32Array;
  /** With logits "scores". */
  scores?: LossPositionScores;
  /** Per tapped layer: [B,T,F] or [B*n,F]. */
  ffn: Map<number, Float32Array>;
  loss?: number;
  /** [n, d] */
  promptGrad?: Float32Array;
}

const BUILDERS: Record<LoadedModel["config"]["family"], GraphBuilder> = { gpt2: buildGpt2Graph, llama: buildLlamaGraph };

/** A compiled forward (+ loss/gradient) graph over one model. Run it from a worker: it blocks its thread. */
export class ModelSession {
  private constructor(
    readonly model: LoadedModel,
    readonly options: ResolvedSessionOptions,
    readonly tapLayers: readonly number[],
    private readonly session: GraphSession,
  ) {}

  static async create(model: LoadedModel, options: SessionOptions = {}): Promise<ModelSession> {
    const c = model.config;
    const n = options.softPromptLength ?? 0;
    if (!Number.isInteger(n) || n < 0) throw new BatchInputError(`softPromptLength ${n} must be a non-negative integer`);
    const tapLayers = options.taps === "all" ? Array.from({ length: c.nLayers }, (_, i) => i) : [...(options.taps ?? [])];
    for (const l of tapLayers) {
      if (!Number.isInteger(l) || l < 0 || l >= c.nLayers) throw new BatchInputError(`tap layer ${l} is outside [0, ${c.nLayers})`);
    }
    const withPromptGrad = options.withPromptGrad ?? false;
    if (withPromptGrad && n === 0) throw new BatchInputError("withPromptGrad needs a soft prompt (softPromptLength > 0)");
    const full: ResolvedSessionOptions = {
      softPromptLength: n, taps: tapLayers, tapPositions: options.tapPositions ?? (n > 0 ? "soft" : "all"),
      logits: options.logits ?? "none", withLoss: (options.withLoss ?? false) || withPromptGrad, withPromptGrad,
      intervene: checkIntervene(options.intervene, c.nLayers, n),
    };
    if (full.tapPositions === "soft" && n === 0 && tapLayers.length > 0) {
      throw new BatchInputError('tapPositions "soft" needs a soft prompt; use "all"');
    }
    const spec: GraphSpec = {
      softLength: n, compute: model.compute, tapLayers, tapPositions: full.tapPositions === "all" ? "all" : "gather",
      logits: full.logits === "all" || full.logits === "none" || full.logits === "scores" ? full.logits : "gather",
      withLoss: full.withLoss, withPromptGrad,
      ...(full.intervene ? { intervene: { layers: full.intervene.layers } } : {}),
    };
    const graph = BUILDERS[c.family](model, model.weights, spec);
    const bound = Object.fromEntries(graph.weights().map((w) => [w.name, model.weights.feed(w.name)]));
    const session = await GraphSession.create(graph, { executionProvider: model.device, intraOpThreads: model.threads, bound });
    return new ModelSession(model, full, tapLayers, session);
  }

  async run(input: RunInput): Promise<RunResult> {
    const c = this.model.config;
    const o = this.options;
    const n = o.softPromptLength;
    const L = layoutBatch(input.sequences, n, c.vocabSize, c.maxPositions, c.slidingWindow);
    const { batch: B, seqLen: T } = L;
    const feeds: Record<string, TensorValue> = {
      input_ids: { data: L.inputIds, shape: [B, T] },
      position_ids: { data: L.positionIds, shape: [B, T] },
      token_mask: { data: L.tokenMask, shape: [B, T] },
      attn_bias: { data: L.attnBias, shape: [B, 1, T, T] },
    };
    if (n > 0) {
      const p = input.softPrompt;
      if (!p || p.length !== n * c.dModel) {
        throw new BatchInputError(`softPrompt must hold n x d_model = ${n} x ${c.dModel} = ${n * c.dModel} floats, got ${p?.length ?? "none"}`);
      }
      feeds["soft_prompt"] = { data: p, shape: [n, c.dModel] };
      feeds["soft_onehot"] = { data: L.softOneHot!, shape: [B, T, n] };
    }
    if (o.tapPositions === "soft" && this.tapLayers.length > 0) feeds["tap_pos"] = { data: L.softPos, shape: [L.softPos.length] };
    if (o.logits === "last") feeds["logit_pos"] = { data: L.lastPos, shape: [B] };
    if (o.logits === "loss" || o.logits === "scores") feeds["logit_pos"] = { data: L.lossPos, shape: [L.lossPos.length] };
    if (o.logits === "scores") feeds["logit_targets"] = { data: L.lossTargets, shape: [L.lossTargets.length] };
    if (o.withLoss) {
      if (L.lossPos.length === 0) throw new BatchInputError("withLoss needs loss targets: set lossLast > 0 on some sequence");
      feeds["loss_pos"] = { data: L.lossPos, shape: [L.lossPos.length] };
      feeds["loss_targets"] = { data: L.lossTargets, shape: [L.lossTargets.length] };
    }
    if (o.intervene) Object.assign(feeds, this.interventionFeeds(L, input.intervention ?? {}));
    else if (input.intervention) throw new BatchInputError("intervention given, but the session was created without intervene layers");
    const out = await this.session.run(feeds);
    const result: RunResult = { layout: L, ffn: new Map() };
    if (o.logits === "scores") {
      result.scores = {
        targetLogProb: out["target_logprob"]!.data as Float32Array,
        maxLogProb: out["max_logprob"]!.data as Float32Array,
        argmax: Int32Array.from(out["argmax"]!.data as BigInt64Array, Number),
      };
    } else if (o.logits !== "none") result.logits = out["logits"]!.data as Float32Array;
    for (const l of this.tapLayers) result.ffn.set(l, out[`ffn_${l}`]!.data as Float32Array);
    if (o.withLoss) result.loss = (out["loss"]!.data as Float32Array)[0];
    if (o.withPromptGrad) result.promptGrad = out["prompt_grad"]!.data as Float32Array;
    if (this.model.compute === "f16") assertFiniteHalfRun(result);
    return result;
  }

  private interventionFeeds(L: BatchLayout, v: InterventionValues): Record<string, TensorValue> {
    const iv = this.options.intervene!;
    const F = this.model.config.dFF;
    const I = iv.layers.length;
    const B = L.batch;
    const T = L.seqLen;
    const scale = v.scale ?? new Float32Array(I * F).fill(1);
    if (scale.length !== I * F) throw new BatchInputError(`intervention.scale must hold layers x d_ff = ${I} x ${F} values, got ${scale.length}`);
    let offset = v.offset ?? new Float32Array(B * I * F);
    if (offset.length === I * F && B > 1) {
      const per = offset;
      offset = new Float32Array(B * I * F);
      for (let b = 0; b < B; b++) offset.set(per, b * I * F);
    }
    if (offset.length !== B * I * F) throw new BatchInputError(`intervention.offset must hold layers x d_ff = ${I * F} or batch x layers x d_ff = ${B * I * F} values, got ${offset.length}`);
    const mask = new Float32Array(B * T);
    if (iv.positions === "soft") for (const p of L.softPos) mask[Number(p)] = 1;
    else for (let b = 0; b < B; b++) mask.fill(1, b * T, b * T + L.lengths[b]!);
    return {
      ffn_scale: { data: scale, shape: [I, F] },
      ffn_offset: { data: offset, shape: [B, I, F] },
      ffn_mask: { data: mask, shape: [B, T] },
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Thrown when a run under f16 compute yields a non-finite output: a half-precision product left
 * float16's range (|x| > 65504), which float32 compute would not. */
export class HalfOverflowError extends Error {
  override readonly name = "HalfOverflowError";
}

function assertFiniteHalfRun(r: RunResult): void {
  const outputs: [string, ArrayLike<number> | undefined][] = [
    ["loss", r.loss === undefined ? undefined : [r.loss]], ["prompt gradient", r.promptGrad], ["logits", r.logits],
    ["answer scores", r.scores?.targetLogProb], ...[...r.ffn].map(([l, a]): [string, Float32Array] => [`FFN layer ${l}`, a]),
  ];
  for (const [what, a] of outputs) {
    if (!a) continue;
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) {
        throw new HalfOverflowError(`f16 compute: the ${what} holds ${a[i]} at ${i}: a half-precision product left float16's range (|x| > 65504); run this model with compute f32`);
      }
    }
  }
}

type FullIntervene = { layers: readonly number[]; positions: "soft" | "all" } | undefined;

/** SessionOptions with every default applied. */
export type ResolvedSessionOptions = Required<Omit<SessionOptions, "intervene">> & { intervene: FullIntervene };

function checkIntervene(iv: SessionOptions["intervene"], nLayers: number, softLength: number): FullIntervene {
  if (!iv) return undefined;
  const layers = [...iv.layers];
  if (layers.length === 0 || new Set(layers).size !== layers.length || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= nLayers)) {
    throw new BatchInputError(`intervene.layers must be distinct layer indices in [0, ${nLayers}), got [${layers}]`);
  }
  const positions = iv.positions ?? "soft";
  if (positions !== "soft" && positions !== "all") throw new BatchInputError(`intervene.positions must be "soft" or "all", got ${String(positions)}`);
  if (positions === "soft" && softLength === 0) throw new BatchInputError('intervene.positions "soft" needs a soft prompt; use "all"');
  return { layers, positions };
}

/** Convenience: `ModelSession.create`. */
export function createSession(model: LoadedModel, options: SessionOptions = {}): Promise<ModelSession> {
  return ModelSession.create(model, options);
}
