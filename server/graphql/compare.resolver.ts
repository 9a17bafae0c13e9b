import { Arg, Ctx, Float, ID, Int, Query, Resolver } from "type-graphql";
import { alternativeScores, compareRuns, counterexampleAccuracy, seedStability, type ScoreKind, type SubsetAccuracy as ServiceSubset } from "../compare/index.js";
import {
  AlternativeScores,
  CounterexampleReport,
  NeuronAcrossRuns,
  RunComparison,
  ScoreKindValue,
  StabilityReport,
  SubsetAccuracy,
} from "./compare.type.js";
import type { GraphQLContext } from "./context.js";
import { badInput } from "./errors.js";
import { nonNegativeInt, parseId } from "./ids.js";
import { FIELD_COST, pageSize } from "./limits.js";
import { neuronId } from "../../gpu-runner/neuron-id.js";
import { ActivationReading, NeuronAggregate } from "./neuron.type.js";
import { finiteOrNull } from "./finite.js";

/** Most runs one comparison reads (every run's whole score table is loaded). */
const MAX_RUNS = 20;
const MAX_SCATTER = 10_000;

@Resolver()
export class CompareResolver {
  @Query(() => StabilityReport, {
    description: "Stability of skill neurons across prompt seeds: per metric, Jaccard overlap and Spearman of the runs' top-K sets (runs of one model and task).",
    complexity: FIELD_COST.layerScan,
  })
  async seedStability(
    @Arg("runIds", () => [ID]) runIdArgs: string[],
    @Arg("metrics", () => [String], { nullable: true, description: "Default: every metric all runs have." }) metrics: string[] | null | undefined,
    @Arg("k", () => Int, { defaultValue: 10, description: "Top-K size, 1..1000." }) k: number,
    @Arg("aggregate", () => NeuronAggregate, { defaultValue: NeuronAggregate.MAX_ABS_OVER_POSITIONS }) aggregate: NeuronAggregate,
    @Ctx() { services }: GraphQLContext,
  ): Promise<StabilityReport> {
    const runIds = parseRunIds(runIdArgs);
    pageSize(k, "k", services.limits);
    const s = await seedStability(services.store, runIds, { metrics: metrics ?? undefined, k, agg: aggregate });
    return {
      runIds: s.runIds.map(String),
      k: s.k,
      metrics: s.metrics.map((m) => ({
        metric: m.metric,
        topK: m.topK.map((t) => ({ runId: String(t.runId), neurons: t.neurons })),
        pairs: m.pairs.map((p) => ({ runA: String(p.runA), runB: String(p.runB), jaccard: p.jaccard, spearman: finiteOrNull(p.spearman) })),
        meanJaccard: finiteOrNull(m.meanJaccard),
        meanSpearman: finiteOrNull(m.meanSpearman),
        stable: m.stable.map(acrossRuns),
      })),
    };
  }

  @Query(() => RunComparison, {
    description: "Two or more runs of one model (any tasks) on a metric: neurons in every top-K, r-vs-r scatter points, per-layer shift of the r distribution.",
    complexity: FIELD_COST.layerScan,
  })
  async compareRuns(
    @Arg("runIds", () => [ID]) runIdArgs: string[],
    @Arg("metric") metric: string,
    @Arg("k", () => Int, { defaultValue: 10, description: "Top-K size, 1..1000." }) k: number,
    @Arg("aggregate", () => NeuronAggregate, { defaultValue: NeuronAggregate.MAX_ABS_OVER_POSITIONS }) aggregate: NeuronAggregate,
    @Arg("scatterLimit", () => Int, { defaultValue: 2000, description: `Most scatter points, 0..${MAX_SCATTER}.` }) scatterLimit: number,
    @Ctx() { services }: GraphQLContext,
  ): Promise<RunComparison> {
    const runIds = parseRunIds(runIdArgs);
    pageSize(k, "k", services.limits);
    if (!(Number.isInteger(scatterLimit) && scatterLimit >= 0 && scatterLimit <= MAX_SCATTER)) throw badInput("scatterLimit", `must be an integer in 0..${MAX_SCATTER}, got ${scatterLimit}`);
    const c = await compareRuns(services.store, runIds, { metric, k, agg: aggregate, scatterLimit });
    return {
      runIds: c.runIds.map(String),
      metric: c.metric,
      k: c.k,
      shared: c.shared.map(acrossRuns),
      scatter: c.scatter.map(acrossRuns),
      layers: c.layers.map((l) => ({ layer: l.layer, meanAbsR: l.meanAbsR.map(finiteOrNull), ks: l.ks })),
    };
  }

  @Query(() => CounterexampleReport, {
    description: "The model's accuracy where a 0/1 heuristic metric and the label disagree (counterexamples to the heuristic) versus where they agree.",
    complexity: FIELD_COST.rankedPage,
  })
  async counterexamples(
    @Arg("runId", () => ID) runIdArg: string,
    @Arg("heuristic", { description: "A 0/1 metric of the run, e.g. a HANS lexical-overlap detector." }) heuristic: string,
    @Arg("predicts", () => Float, { description: "Label value the heuristic predicts when it fires." }) predicts: number,
    @Arg("label", { defaultValue: "label", description: "Label metric." }) label: string,
    @Arg("onlyWhenFired", { defaultValue: false, description: "Only count samples where the heuristic fires." }) onlyWhenFired: boolean,
    @Ctx() { services }: GraphQLContext,
  ): Promise<CounterexampleReport> {
    const runId = parseId(runIdArg, "runId");
    const r = await counterexampleAccuracy(services.store, runId, { heuristic, label, predicts, onlyWhenFired });
    return { runId: String(runId), heuristic: r.heuristic, label: r.label, disagree: toSubset(r.disagree), agree: toSubset(r.agree) };
  }

  @Query(() => AlternativeScores, {
    description: "Pearson, Spearman, mutual information and (0/1 metrics) threshold accuracy of one layer's neurons, from the stored activations; the top-K each selects and their overlap.",
    complexity: FIELD_COST.layerScan * 4,
  })
  async alternativeScores(
    @Arg("runId", () => ID) runIdArg: string,
    @Arg("metric") metric: string,
    @Arg("layer", () => Int) layer: number,
    @Arg("k", () => Int, { defaultValue: 10, description: "Top-K size per score, 1..1000." }) k: number,
    @Arg("bins", () => Int, { defaultValue: 16, description: "Bins per variable for mutual information, 2..256." }) bins: number,
    @Arg("position", () => Int, { nullable: true, description: "Read every neuron at this soft position; default: each neuron at its best position for the metric." }) position: number | null | undefined,
    @Arg("maxOverPositions", () => Boolean, { nullable: true, description: "Read each sample's maximum over positions instead (explicit only)." }) maxOverPositions: boolean | null | undefined,
    @Ctx() { services }: GraphQLContext,
  ): Promise<AlternativeScores> {
    const runId = parseId(runIdArg, "runId");
    nonNegativeInt(layer, "layer");
    pageSize(k, "k", services.limits);
    const run = await services.store.getRun(runId);
    if (run.layers && !run.layers.includes(layer)) throw badInput("layer", `run ${runId} recorded layers ${run.layers.join(", ")}, not ${layer}`);
    if (position != null && maxOverPositions) throw badInput("position", "position and maxOverPositions exclude each other; give one");
    const a = await alternativeScores(services.store, runId, metric, layer, {
      k, bins, position: position == null ? undefined : nonNegativeInt(position, "position"), maxOverPositions: maxOverPositions ?? false,
    });
    const valuesOf = (f: number) => ({
      id: neuronId(layer, f),
      index: f,
      position: a.positions[f]! >= 0 ? a.positions[f]! : null,
      pearson: finiteOrNull(a.scores.pearson[f]),
      spearman: finiteOrNull(a.scores.spearman[f]),
      mutualInformation: finiteOrNull(a.scores.mutualInformation[f]),
      thresholdAccuracy: finiteOrNull(a.scores.thresholdAccuracy?.[f]),
    });
    return {
      runId: String(runId),
      metric: a.metric,
      layer: a.layer,
      samples: a.samples,
      reading: a.reading as ActivationReading,
      topK: (Object.entries(a.topK) as [ScoreKind, number[]][]).map(([score, neurons]) => ({ score: score as ScoreKindValue, neurons: neurons.map(valuesOf) })),
      overlap: a.overlap.map((o) => ({ a: o.a as ScoreKindValue, b: o.b as ScoreKindValue, jaccard: o.jaccard })),
    };
  }
}

function parseRunIds(values: readonly string[]): number[] {
  if (values.length < 2 || values.length > MAX_RUNS) throw badInput("runIds", `give 2..${MAX_RUNS} run ids, got ${values.length}`);
  return values.map((v, i) => parseId(v, `runIds[${i}]`));
}

function acrossRuns(n: { layer: number; neuron: number; r: number[] }): NeuronAcrossRuns {
  return { id: neuronId(n.layer, n.neuron), layer: n.layer, index: n.neuron, r: n.r };
}

function toSubset(s: ServiceSubset): SubsetAccuracy {
  return { count: s.count, accuracy: finiteOrNull(s.accuracy), sampleIds: s.sampleIds };
}
