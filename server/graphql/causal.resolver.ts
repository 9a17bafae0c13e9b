import { Arg, Args, ArgsType, Ctx, Field, FieldResolver, Float, ID, Int, Mutation, Resolver, Root } from "type-graphql";
import type { ConditionOutcome } from "../../gpu-runner/causal/types.js";
import { DEFAULT_FACTORS, runAblation, steerNeuron, type Effect, type Interval as ServiceInterval } from "../causal/index.js";
import {
  AblationModeValue,
  AblationReport,
  CausalCondition,
  CausalEffect,
  CausalSampleOutcome,
  InterventionPositionsValue,
  Interval,
  SteeringReport,
} from "./causal.type.js";
import type { GraphQLContext } from "./context.js";
import { badInput } from "./errors.js";
import { nonNegativeInt, parseId } from "./ids.js";
import { FIELD_COST, pageSize } from "./limits.js";
import { NEURON_ID_HINT, neuronId, parseNeuronId as parseNeuronParts } from "../../gpu-runner/neuron-id.js";
import { finiteOrNull } from "./finite.js";

/** Listed neurons per ablation: room for every FFN neuron of four layers of an 8B model (d_ff 14336). */
const MAX_LISTED_NEURONS = 65536;

@ArgsType()
class AblateArgs {
  @Field(() => ID)
  runId!: string;

  @Field({ description: "Metric whose top-K neurons (by max |r| over positions) are ablated." })
  metric!: string;

  @Field(() => Int, { defaultValue: 10, description: "How many top neurons, 1..1000." })
  k!: number;

  @Field(() => AblationModeValue, { defaultValue: AblationModeValue.ZERO })
  mode!: AblationModeValue;

  @Field(() => Int, { defaultValue: 20, description: "Random control sets (same neurons per layer as the top-K), 0..1000." })
  randomDraws!: number;

  @Field(() => Int, { defaultValue: 0, description: "Seeds the random sets, the noise and the bootstrap." })
  seed!: number;

  @Field(() => Int, { nullable: true, description: "Only rank (and ablate) neurons of this layer." })
  layer?: number | null;

  @Field(() => InterventionPositionsValue, { defaultValue: InterventionPositionsValue.SOFT })
  positions!: InterventionPositionsValue;

  @Field(() => [ID], {
    nullable: true,
    description: `Ablate exactly these neurons (L{layer}.N{index}, 1..${MAX_LISTED_NEURONS}, e.g. every neuron of a layer, to ask whether anything there matters) ` +
      "instead of the metric's top-K: `metric` then only labels the report, `k` is not used and `layer` must be unset. Random sets need as many other neurons per layer.",
  })
  neurons?: string[] | null;
}

/** A compute job runs forwards of the whole validation set: price it like a layer scan. */
const JOB_COST = FIELD_COST.layerScan;


@Resolver(() => AblationReport)
export class CausalResolver {
  @Mutation(() => AblationReport, {
    description:
      "Ablates a metric's top-K neurons and, as controls, random neuron sets of the same layers; forwards the validation set under each " +
      "(seconds to minutes, in a worker) and reports accuracy, loss, gold probability and KL changes with 95% intervals.",
    complexity: JOB_COST,
  })
  async ablateNeurons(@Args() args: AblateArgs, @Ctx() { services, signal: request }: GraphQLContext): Promise<AblationReport> {
    const runId = parseId(args.runId, "runId");
    const layer = args.layer == null ? undefined : nonNegativeInt(args.layer, "layer");
    const neurons = args.neurons == null ? undefined : listedNeurons(args.neurons);
    if (neurons && layer !== undefined) throw badInput("layer", "give either `neurons` or `layer`: `layer` only restricts the metric's top-K");
    if (layer !== undefined || neurons) {
      const recorded = (await services.store.getRun(runId)).layers;
      for (const l of layer === undefined ? new Set(neurons!.map((n) => n.layer)) : [layer]) {
        if (recorded && !recorded.includes(l)) throw badInput(neurons ? "neurons" : "layer", `run ${runId} recorded layers ${recorded.join(", ")}, not ${l}`);
      }
    }
    // A job loads the model into a worker and forwards the validation set many times: it waits its turn
    // in the run queue; closing the request or cancelJob stops it.
    const report = await services.runs.runJob(runId, "ablation", (signal, onStatus) => runAblation(services.store, runId, {
      metric: args.metric, k: args.k, mode: args.mode, randomDraws: args.randomDraws, seed: args.seed, layer, positions: args.positions, neurons,
    }, { modelRoots: services.runs.modelRoots, signal: request ? AbortSignal.any([request, signal]) : signal, onStatus }));
    const condition = (c: ConditionOutcome) => toCondition(c, report.sampleIds);
    return {
      runId: String(runId),
      metric: report.metric,
      mode: report.mode as AblationModeValue,
      positions: report.positions as InterventionPositionsValue,
      seed: report.seed,
      sampleCount: report.sampleIds.length,
      neurons: report.neurons.map((n) => ({ id: neuronId(n.layer, n.neuron), layer: n.layer, index: n.neuron, r: finiteOrNull(n.r), position: n.position ?? null })),
      baseline: condition(report.baseline),
      ablated: condition(report.ablated),
      random: report.random.map(condition),
      deltas: {
        accuracy: toEffect(report.deltas.accuracy),
        loss: toEffect(report.deltas.loss),
        goldProb: toEffect(report.deltas.goldProb),
        kl: toEffect(report.deltas.kl),
      },
    };
  }

  @Mutation(() => SteeringReport, {
    description: "Scales one neuron by each factor at the intervened positions and forwards the validation set (in a worker): how accuracy, loss and predictions move.",
    complexity: JOB_COST,
  })
  async steerNeuron(
    @Arg("runId", () => ID) runIdArg: string,
    @Arg("neuronId", () => ID, { description: "L{layer}.N{index}, e.g. L0.N7." }) id: string,
    @Arg("factors", () => [Float], { defaultValue: [...DEFAULT_FACTORS], description: "a -> factor * a; 1..64 finite numbers." }) factors: number[],
    @Arg("positions", () => InterventionPositionsValue, { defaultValue: InterventionPositionsValue.SOFT }) positions: InterventionPositionsValue,
    @Ctx() { services, signal: request }: GraphQLContext,
  ): Promise<SteeringReport> {
    const runId = parseId(runIdArg, "runId");
    const { layer, index } = parseNeuronId(id, "neuronId");
    const run = await services.store.getRun(runId);
    if (run.layers && !run.layers.includes(layer)) throw badInput("neuronId", `run ${runId} recorded layers ${run.layers.join(", ")}, not ${layer}`);
    const report = await services.runs.runJob(runId, "steering", (signal, onStatus) =>
      steerNeuron(services.store, runId, layer, index, factors, { positions }, { modelRoots: services.runs.modelRoots, signal: request ? AbortSignal.any([request, signal]) : signal, onStatus }));
    return {
      runId: String(runId),
      neuronId: neuronId(layer, index),
      layer,
      index,
      positions: report.positions as InterventionPositionsValue,
      sampleCount: report.sampleIds.length,
      baseline: toCondition(report.baseline, report.sampleIds),
      factors: report.factors.map((c) => toCondition(c, report.sampleIds)),
    };
  }
}

@Resolver(() => CausalCondition)
export class CausalConditionResolver {
  @FieldResolver(() => [CausalSampleOutcome], { description: "Per-sample outputs in validation order, a page of them." })
  samples(
    @Root() condition: CausalCondition,
    @Arg("first", () => Int, { defaultValue: 100, description: "Page size, 1..1000." }) first: number,
    @Arg("offset", () => Int, { defaultValue: 0 }) offset: number,
    @Ctx() { services }: GraphQLContext,
  ): CausalSampleOutcome[] {
    pageSize(first, "first", services.limits);
    nonNegativeInt(offset, "offset");
    const s = condition.perSample;
    const end = Math.min(s.sampleIds.length, offset + first);
    const out: CausalSampleOutcome[] = [];
    for (let i = offset; i < end; i++) {
      out.push({ sampleId: s.sampleIds[i]!, loss: s.loss[i]!, goldProb: s.goldProb[i]!, correct: s.correct[i] === 1, kl: s.kl[i]!, prediction: s.prediction[i]! });
    }
    return out;
  }
}

/** The `neurons` argument as refs: 1..MAX_LISTED_NEURONS well-formed ids (the worker checks them against the model's shape and for repeats). */
function listedNeurons(ids: readonly string[]): { layer: number; neuron: number }[] {
  if (ids.length === 0 || ids.length > MAX_LISTED_NEURONS) throw badInput("neurons", `list 1..${MAX_LISTED_NEURONS} neuron ids, got ${ids.length}`);
  return ids.map((id) => {
    const { layer, index } = parseNeuronId(id, "neurons");
    return { layer, neuron: index };
  });
}

/** `L{layer}.N{index}` -> its parts, else BAD_USER_INPUT naming `field`. */
export function parseNeuronId(id: string, field: string): { layer: number; index: number } {
  const parsed = parseNeuronParts(id);
  if (!parsed) throw badInput(field, `"${id}" is not a neuron id; ${NEURON_ID_HINT}`);
  return parsed;
}

function toCondition(c: ConditionOutcome, sampleIds: readonly string[]): CausalCondition {
  return {
    name: c.name,
    neurons: c.neurons.map((n) => neuronId(n.layer, n.neuron)),
    factor: c.factor ?? null,
    accuracy: c.accuracy,
    meanLoss: c.meanLoss,
    meanGoldProb: c.meanGoldProb,
    changed: c.changed,
    meanKl: c.meanKl,
    perSample: { sampleIds, ...c.perSample },
  };
}

function toEffect(e: Effect): CausalEffect {
  return { ablated: toInterval(e.ablated), random: toInterval(e.random), effect: toInterval(e.effect), z: finiteOrNull(e.z), pRandom: e.pRandom };
}

function toInterval(i: ServiceInterval): Interval {
  return { estimate: finiteOrNull(i.estimate), low: finiteOrNull(i.low), high: finiteOrNull(i.high) };
}
