/**
 * Causal experiments over S_val: ablation of a neuron set against random sets of the same layers,
 * and steering one neuron by factors. Every condition is compared, batch by batch, with the
 * unintervened forward of the same batch (KL at the answer positions, changed predictions).
 */
import type { InterventionValues } from "../models/session.js";
import { badInput } from "../train/errors.js";
import { buildBatch, type EncodedSample, type LayoutOptions } from "../train/layout.js";
import { Rng } from "../train/rng.js";
import { throwIfCancelled, yieldToEventLoop } from "../train/train.js";
import { CausalEvaluator, range, type NeuronStats } from "./evaluator.js";
import { checkNeurons, randomControlSets } from "./neurons.js";
import type { AblationOutcome, AblationSpec, ConditionOutcome, NeuronRef, SteeringOutcome, SteeringSpec } from "./types.js";

export interface ExperimentContext {
  readonly evaluator: CausalEvaluator;
  readonly samples: readonly EncodedSample[];
  readonly sampleIds: readonly string[];
  readonly layout: LayoutOptions;
  /** [n, dModel] */
  readonly prompt: Float32Array;
  readonly batchSize: number;
  readonly decode: (ids: readonly number[]) => Promise<string> | string;
  readonly signal?: AbortSignal;
  /** After each batch of S_val has gone through every condition: (batches done, total batches). */
  readonly onBatch?: (done: number, total: number) => void;
}

/** One intervention; `scale` undefined = the unintervened baseline. */
interface Condition {
  readonly name: string;
  readonly neurons: readonly NeuronRef[];
  readonly factor?: number;
  readonly scale?: Float32Array;
  /** Offset for the batch's rows ([I*F] shared or [B*I*F]); undefined = zeros. */
  readonly offset?: (rows: number) => Float32Array | undefined;
}

/** The experiment's layers: those of the neurons it touches (random sets share them). */
export function experimentLayers(spec: AblationSpec | SteeringSpec): number[] {
  const neurons = spec.kind === "ablation" ? spec.neurons : [spec.neuron];
  return [...new Set(neurons.map((n) => n.layer))].sort((a, b) => a - b);
}

export async function runAblation(ctx: ExperimentContext, spec: AblationSpec): Promise<AblationOutcome> {
  const ev = ctx.evaluator;
  const nLayers = ev.model.config.nLayers;
  checkNeurons("neurons", spec.neurons, nLayers, ev.dFF);
  if (!["zero", "mean", "noise"].includes(spec.mode)) throw badInput(`mode must be "zero", "mean" or "noise", got ${String(spec.mode)}`);
  if (!Number.isSafeInteger(spec.seed)) throw badInput(`seed must be an integer, got ${String(spec.seed)}`);
  const randomSets = randomControlSets(spec.neurons, ev.dFF, spec.randomDraws, spec.seed);
  const stats = spec.mode === "zero" ? undefined : await ev.neuronStats(ctx.samples, ctx.layout, ctx.prompt, ctx.batchSize, ctx.signal);
  const ablate = (name: string, neurons: readonly NeuronRef[], draw: number): Condition => ({
    name, neurons, scale: scaleFor(ev, neurons, 0), offset: ablationOffset(ev, neurons, spec.mode, stats, spec.seed, draw),
  });
  const conditions: Condition[] = [
    { name: "baseline", neurons: [] },
    ablate("ablated", spec.neurons, 0),
    ...randomSets.map((set, i) => ablate(`random ${i}`, set, i + 1)),
  ];
  const [baseline, ablated, ...random] = await evaluateConditions(ctx, conditions);
  return { kind: "ablation", mode: spec.mode, positions: ev.positions, sampleIds: ctx.sampleIds, baseline: baseline!, ablated: ablated!, random };
}

export async function runSteering(ctx: ExperimentContext, spec: SteeringSpec): Promise<SteeringOutcome> {
  const ev = ctx.evaluator;
  checkNeurons("neuron", [spec.neuron], ev.model.config.nLayers, ev.dFF);
  if (!Array.isArray(spec.factors) || spec.factors.length === 0 || spec.factors.some((f) => !Number.isFinite(f))) {
    throw badInput("factors must be a non-empty list of finite numbers");
  }
  const conditions: Condition[] = [
    { name: "baseline", neurons: [] },
    ...spec.factors.map((f) => ({ name: `factor ${f}`, neurons: [spec.neuron], factor: f, scale: scaleFor(ev, [spec.neuron], f) })),
  ];
  const [baseline, ...factors] = await evaluateConditions(ctx, conditions);
  return { kind: "steering", neuron: spec.neuron, positions: ev.positions, sampleIds: ctx.sampleIds, baseline: baseline!, factors };
}

/** Scale [I*F]: 1 everywhere but `value` at the given neurons. */
function scaleFor(ev: CausalEvaluator, neurons: readonly NeuronRef[], value: number): Float32Array {
  const s = new Float32Array(ev.layers.length * ev.dFF).fill(1);
  for (const n of neurons) s[ev.slot(n.layer) * ev.dFF + n.neuron] = value;
  return s;
}

/**
 * Offsets of an ablation: none (zero), the neurons' means (mean), or mean + sd * z per row and
 * neuron (noise; z from a stream seeded by (seed, draw) and consumed in sample order).
 */
function ablationOffset(ev: CausalEvaluator, neurons: readonly NeuronRef[], mode: AblationSpec["mode"], stats: NeuronStats | undefined, seed: number, draw: number): Condition["offset"] {
  if (mode === "zero") return undefined;
  const F = ev.dFF;
  const IF = ev.layers.length * F;
  const at = neurons.map((n) => ev.slot(n.layer) * F + n.neuron);
  if (mode === "mean") {
    const o = new Float32Array(IF);
    for (const k of at) o[k] = stats!.mean[k];
    return () => o;
  }
  const rng = Rng.fromSeed((seed ^ Math.imul(draw + 1, 0x9e3779b1)) >>> 0);
  return (rows) => {
    const o = new Float32Array(rows * IF);
    for (let r = 0; r < rows; r++) for (const k of at) o[r * IF + k] = stats!.mean[k] + stats!.sd[k] * rng.normal();
    return o;
  };
}

/** Forwards S_val under every condition (conditions[0] must be the baseline), batch by batch. */
async function evaluateConditions(ctx: ExperimentContext, conditions: readonly Condition[]): Promise<ConditionOutcome[]> {
  const N = ctx.samples.length;
  if (N === 0) throw badInput("causal experiment: no validation samples");
  if (!Number.isInteger(ctx.batchSize) || ctx.batchSize < 1) throw badInput(`batchSize must be a positive integer, got ${String(ctx.batchSize)}`);
  const V = ctx.evaluator.model.config.vocabSize;
  const acc = conditions.map(() => ({
    loss: new Float64Array(N), goldProb: new Float64Array(N), correct: new Uint8Array(N), kl: new Float64Array(N),
    changed: new Uint8Array(N), predictionIds: new Array<number[]>(N),
  }));
  const totalBatches = Math.ceil(N / ctx.batchSize);
  for (let start = 0; start < N; start += ctx.batchSize) {
    throwIfCancelled(ctx.signal);
    const idx = range(start, Math.min(N, start + ctx.batchSize));
    const batch = buildBatch(ctx.samples, idx, ctx.layout);
    const A = batch.maxAnswerLength;
    const base = await ctx.evaluator.forward(batch, ctx.prompt);
    for (const [c, cond] of conditions.entries()) {
      const values: InterventionValues | undefined = cond.scale ? { scale: cond.scale, offset: cond.offset?.(batch.size) } : undefined;
      const out = values ? await ctx.evaluator.forward(batch, ctx.prompt, values) : base;
      const a = acc[c]!;
      let q = 0;
      for (let r = 0; r < batch.size; r++) {
        const i = idx[r]!;
        const len = batch.answerLength[r]!;
        a.loss[i] = out.scores.loss[r]!;
        a.goldProb[i] = Math.exp(out.scores.goldLogProb[r]!);
        a.correct[i] = out.scores.correct[r]!;
        const ids = Array.from(out.scores.argmax.subarray(r * A, r * A + len));
        a.predictionIds[i] = ids;
        let kl = 0;
        let changed = 0;
        for (let j = 0; j < len; j++, q++) {
          kl += klDivergence(base.logits, out.logits, q * V, V);
          if (ids[j] !== base.scores.argmax[r * A + j]) changed = 1;
        }
        a.kl[i] = kl / len;
        a.changed[i] = changed;
      }
      await yieldToEventLoop();
    }
    ctx.onBatch?.(start / ctx.batchSize + 1, totalBatches);
  }
  const decoded = new Map<string, string>();
  const decode = async (ids: number[]) => {
    const key = ids.join(",");
    if (!decoded.has(key)) decoded.set(key, await ctx.decode(ids));
    return decoded.get(key)!;
  };
  const outcomes: ConditionOutcome[] = [];
  for (const [c, cond] of conditions.entries()) {
    const a = acc[c]!;
    const prediction: string[] = [];
    for (const ids of a.predictionIds) prediction.push(await decode(ids));
    outcomes.push({
      name: cond.name, neurons: cond.neurons, ...(cond.factor !== undefined ? { factor: cond.factor } : {}),
      accuracy: mean(a.correct), meanLoss: mean(a.loss), meanGoldProb: mean(a.goldProb), changed: mean(a.changed), meanKl: mean(a.kl),
      perSample: { loss: a.loss, goldProb: a.goldProb, correct: a.correct, kl: a.kl, prediction },
    });
  }
  return outcomes;
}

/** KL(softmax(p) || softmax(q)) of the V logits at `off`, in float64. */
function klDivergence(p: Float32Array, q: Float32Array, off: number, V: number): number {
  const lp = logSumExp(p, off, V);
  const lq = logSumExp(q, off, V);
  let kl = 0;
  for (let k = 0; k < V; k++) {
    const a = p[off + k]! - lp;
    kl += Math.exp(a) * (a - (q[off + k]! - lq));
  }
  return Math.max(0, kl);
}

function logSumExp(x: Float32Array, off: number, V: number): number {
  let max = -Infinity;
  for (let k = 0; k < V; k++) max = Math.max(max, x[off + k]!);
  let s = 0;
  for (let k = 0; k < V; k++) s += Math.exp(x[off + k]! - max);
  return max + Math.log(s);
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length ? s / a.length : 0;
}
