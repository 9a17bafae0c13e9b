/**
 * Causal ablation of a run's top-K neurons against random neurons of the same layers: the
 * service behind "does this skill neuron matter?". Runs the experiment in a worker and reports
 * every condition, per-sample outputs, and effects with 95% intervals.
 */
import type { AblationMode, AblationOutcome, ConditionOutcome, InterventionPositions, NeuronRef } from "../../gpu-runner/causal/types.js";
import type { Store } from "../store/store.js";
import { ServiceError } from "../errors.js";
import { causalJobId, executeCausal, workerExecutor, type CausalExecutor, type ExecuteOptions } from "./execute.js";
import { pairedBootstrap, sampleSd, tInterval, meanOf, type Interval } from "./intervals.js";
import { loadRunContext } from "./run-context.js";

export interface AblationOptions {
  /** Metric whose top-K neurons (by max |r| over positions) are ablated. */
  metric: string;
  k: number;
  mode: AblationMode;
  /** Random control sets (same number of neurons per layer as the top-K). */
  randomDraws: number;
  seed: number;
  /** Only rank neurons of this layer. */
  layer?: number;
  /** Ablate these neurons instead of the metric's top-K (metric then only labels the report). */
  neurons?: NeuronRef[];
  /** Default "soft". */
  positions?: InterventionPositions;
  batchSize?: number;
  /** Bootstrap resamples for the per-sample intervals (default 1000). */
  bootstrap?: number;
}

export interface ServiceDeps extends ExecuteOptions {
  /** Default: a worker thread per job. */
  execute?: CausalExecutor;
  /** Folders every file of the run's model must resolve inside when the job opens it; undefined: no check. */
  modelRoots?: readonly string[];
}

export type Measure = "accuracy" | "loss" | "goldProb" | "kl";
export const MEASURES: readonly Measure[] = ["accuracy", "loss", "goldProb", "kl"];

/** One measure's change under ablation (condition minus baseline). */
export interface Effect {
  /** Ablated set: mean paired difference over samples, 95% bootstrap interval. */
  ablated: Interval;
  /** Random sets: mean over draws of their mean difference, 95% t interval over draws. */
  random: Interval;
  /** Ablated minus random, 95% t interval over draws of (ablated - draw). */
  effect: Interval;
  /** (ablated - mean random) / sd of random draws; NaN with fewer than 2 draws or no spread. */
  z: number;
  /** (1 + #draws with |delta| >= |ablated delta|) / (1 + draws): rank p-value of the ablated set. */
  pRandom: number;
}

export interface AblationReport {
  runId: number;
  metric: string;
  mode: AblationMode;
  positions: InterventionPositions;
  seed: number;
  /** The ablated neurons, with their r for the metric when taken from the ranking. */
  neurons: (NeuronRef & { r?: number; position?: number | null })[];
  sampleIds: readonly string[];
  baseline: ConditionOutcome;
  ablated: ConditionOutcome;
  random: readonly ConditionOutcome[];
  deltas: Record<Measure, Effect>;
}

export async function runAblation(store: Store, runId: number, options: AblationOptions, deps: ServiceDeps = {}): Promise<AblationReport> {
  checkOptions(options);
  const ctx = await loadRunContext(store, runId, deps.modelRoots);
  const neurons = options.neurons ?? (await topNeurons(store, runId, options.metric, options.k, options.layer));
  const outcome = (await executeCausal(deps.execute ?? workerExecutor, {
    type: "causal", runId: causalJobId(runId, "ablation"), model: ctx.model, rows: ctx.rows, layout: ctx.layout, prompt: ctx.prompt,
    batchSize: options.batchSize,
    experiment: {
      kind: "ablation", neurons: neurons.map(({ layer, neuron }) => ({ layer, neuron })), mode: options.mode,
      randomDraws: options.randomDraws, seed: options.seed, positions: options.positions ?? "soft",
    },
  }, deps)) as AblationOutcome;
  const deltas = Object.fromEntries(MEASURES.map((m) => [m, effectOf(outcome, m, options.bootstrap ?? 1000, options.seed)])) as Record<Measure, Effect>;
  return {
    runId, metric: options.metric, mode: options.mode, positions: outcome.positions, seed: options.seed, neurons,
    sampleIds: outcome.sampleIds, baseline: outcome.baseline, ablated: outcome.ablated, random: outcome.random, deltas,
  };
}

/** The metric's top-k neurons by max |r| over positions (all layers, or one). */
export async function topNeurons(store: Store, runId: number, metric: string, k: number, layer?: number): Promise<(NeuronRef & { r: number; position: number | null })[]> {
  const metrics = await store.listMetrics(runId);
  if (!metrics.some((m) => m.name === metric)) {
    throw new ServiceError("NOT_FOUND", `run ${runId} has no metric "${metric}"; it has ${metrics.map((m) => m.name).join(", ") || "none"}`);
  }
  const page = await store.queryScores(runId, { metric, agg: "max_abs_r", layer, first: k });
  if (page.rows.length === 0) throw new ServiceError("BAD_STATE", `run ${runId} has no scores for metric "${metric}"${layer === undefined ? "" : ` at layer ${layer}`}: wait until it is scored`);
  return page.rows.map((s) => ({ layer: s.layer, neuron: s.neuron, r: s.r, position: s.position }));
}

function valuesOf(c: ConditionOutcome, m: Measure): ArrayLike<number> {
  switch (m) {
    case "accuracy": return c.perSample.correct;
    case "loss": return c.perSample.loss;
    case "goldProb": return c.perSample.goldProb;
    case "kl": return c.perSample.kl;
  }
}

function effectOf(o: AblationOutcome, m: Measure, resamples: number, seed: number): Effect {
  const base = valuesOf(o.baseline, m);
  const ablated = pairedBootstrap(base, valuesOf(o.ablated, m), resamples, seed);
  const randomDeltas = o.random.map((r) => meanOf(valuesOf(r, m)) - meanOf(base));
  const random = tInterval(randomDeltas);
  const effect = tInterval(randomDeltas.map((d) => ablated.estimate - d));
  const sd = randomDeltas.length >= 2 ? sampleSd(randomDeltas) : Number.NaN;
  const z = sd > 0 ? (ablated.estimate - random.estimate) / sd : Number.NaN;
  const atLeast = randomDeltas.filter((d) => Math.abs(d) >= Math.abs(ablated.estimate)).length;
  return { ablated, random, effect, z, pRandom: (1 + atLeast) / (1 + randomDeltas.length) };
}

function checkOptions(o: AblationOptions): void {
  const bad = (field: string, why: string): never => {
    throw new ServiceError("BAD_INPUT", `ablation ${field}: ${why}`);
  };
  if (typeof o.metric !== "string" || o.metric === "") bad("metric", "must name a metric of the run");
  if (!o.neurons && !(Number.isInteger(o.k) && o.k >= 1 && o.k <= 1000)) bad("k", `must be an integer in 1..1000, got ${o.k}`);
  if (!["zero", "mean", "noise"].includes(o.mode)) bad("mode", `must be zero, mean or noise, got ${String(o.mode)}`);
  if (!(Number.isInteger(o.randomDraws) && o.randomDraws >= 0 && o.randomDraws <= 1000)) bad("randomDraws", `must be an integer in 0..1000, got ${o.randomDraws}`);
  if (!Number.isSafeInteger(o.seed)) bad("seed", `must be an integer, got ${o.seed}`);
  if (o.positions !== undefined && o.positions !== "soft" && o.positions !== "all") bad("positions", 'must be "soft" or "all"');
  if (o.bootstrap !== undefined && !(Number.isInteger(o.bootstrap) && o.bootstrap >= 100 && o.bootstrap <= 100000)) bad("bootstrap", "must be an integer in 100..100000");
  if (o.batchSize !== undefined && !(Number.isInteger(o.batchSize) && o.batchSize >= 1 && o.batchSize <= 4096)) bad("batchSize", "must be an integer in 1..4096");
}
