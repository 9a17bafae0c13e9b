import { Arg, Args, ArgsType, Ctx, Field, FieldResolver, Float, ID, Int, Query, Resolver, Root } from "type-graphql";
import { histogram, type Histogram } from "../analysis/index.js";
import { runStorage } from "../runs/run-options.js";
import type { ScoreAgg, ScoreQuery } from "../store/scores.js";
import type { GraphQLContext, Services } from "./context.js";
import { ApiError, badInput } from "./errors.js";
import { nonNegativeInt, parseId } from "./ids.js";
import { FIELD_COST, pageSize } from "./limits.js";
import {
  activationHistogram,
  extremalRows,
  readPosition,
  undefinedReason,
  reservoirExtremalRows,
  resolveReading,
  sampleDetails,
  type ActivationReading as Reading,
  type ReadingRequest,
} from "./neuron-service.js";
import { neuronId } from "../../gpu-runner/neuron-id.js";
import {
  ActivationHistogram,
  ActivationReading,
  Direction,
  ExtremalSample,
  HistogramData,
  MetricValue,
  Neuron,
  NeuronAggregate,
  NeuronConnection,
  NeuronScore,
  PositionCorrelation,
  UndefinedReason,
} from "./neuron.type.js";
import { finiteOrNull } from "./finite.js";

@ArgsType()
class NeuronsArgs {
  @Field(() => ID)
  runId!: string;

  @Field({ description: "Metric name (see Run.metrics)." })
  metric!: string;

  @Field(() => NeuronAggregate, {
    defaultValue: NeuronAggregate.MAX_ABS_OVER_POSITIONS,
    description: "Ignored when `position` is given: then neurons rank by r at that position.",
  })
  aggregate!: NeuronAggregate;

  @Field(() => Int, { nullable: true, description: "Only this layer." })
  layer?: number | null;

  @Field(() => Int, { nullable: true, description: "Rank by r at this soft position instead of an aggregate." })
  position?: number | null;

  @Field(() => Float, { nullable: true, description: "Only neurons with |r| >= this." })
  minAbsR?: number | null;

  @Field(() => Int, { defaultValue: 50, description: "Page size, 1..1000." })
  first!: number;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page." })
  after?: string | null;
}

@ArgsType()
class ReadingArgs {
  @Field(() => String, { nullable: true, description: "Read at the neuron's best position for this metric (the default reading; see ActivationReading)." })
  metric?: string | null;

  @Field(() => Int, { nullable: true, description: "Read at this soft position instead." })
  position?: number | null;

  @Field(() => Boolean, { nullable: true, description: "Read each sample's maximum over positions instead (explicit only)." })
  maxOverPositions?: boolean | null;
}

/** Checks a reading request and resolves it against the run's stored scores. */
async function readingFor(services: Services, runId: number, neuron: Neuron, args: ReadingArgs): Promise<Reading> {
  const req: ReadingRequest = { metric: args.metric ?? null, position: optionalIndex(args.position, "position"), maxOverPositions: args.maxOverPositions ?? false };
  if (req.metric != null && req.position == null && !req.maxOverPositions) await assertMetric(services, runId, req.metric);
  return resolveReading(services.store, runId, neuron, req);
}

/** Scores one histogram reads per store query. */
const SCAN_PAGE = 1000;
const DEFAULT_BINS = 40;
const MAX_BINS = 1000;

@Resolver(() => Neuron)
export class NeuronResolver {
  @Query(() => NeuronConnection, {
    description: "Neurons of a run ranked by |r| with a metric, filtered and paginated.",
    complexity: FIELD_COST.rankedPage,
  })
  async neurons(@Args() args: NeuronsArgs, @Ctx() { services }: GraphQLContext): Promise<NeuronConnection> {
    const runId = parseId(args.runId, "runId");
    const first = pageSize(args.first, "first", services.limits);
    const query: ScoreQuery = {
      metric: args.metric,
      agg: args.position == null ? (args.aggregate as ScoreAgg) : "position",
      first,
      after: args.after ?? null,
    };
    if (args.layer != null) query.layer = nonNegativeInt(args.layer, "layer");
    if (args.position != null) query.position = nonNegativeInt(args.position, "position");
    if (args.minAbsR != null) {
      if (!(args.minAbsR >= 0 && args.minAbsR <= 1)) throw badInput("minAbsR", `must lie in [0, 1], got ${args.minAbsR}`);
      query.minAbsR = args.minAbsR;
    }
    // The metric check and the page are read at once; an unknown metric's error wins over the page's.
    const pageRead = services.store.queryScores(runId, query);
    pageRead.catch(() => undefined);
    await assertMetric(services, runId, args.metric);
    const page = await pageRead;
    return {
      edges: page.rows.map((s) => ({
        cursor: s.cursor,
        node: {
          id: neuronId(s.layer, s.neuron),
          layer: s.layer,
          index: s.neuron,
          metric: s.metric,
          r: s.r,
          pAtPosition: s.p,
          pCorrected: s.pCorrected,
          bestPosition: s.position,
          rank: s.rank,
        },
      })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
      totalCount: page.totalCount,
    };
  }

  @Query(() => Neuron, { description: "One neuron of a run; inspect it through its fields." })
  async neuron(
    @Arg("runId", () => ID) runIdArg: string,
    @Arg("layer", () => Int) layer: number,
    @Arg("index", () => Int) index: number,
    @Ctx() { services }: GraphQLContext,
  ): Promise<Neuron> {
    const runId = parseId(runIdArg, "runId");
    nonNegativeInt(layer, "layer");
    nonNegativeInt(index, "index");
    const run = await services.store.getRun(runId);
    if (run.layers && !run.layers.includes(layer)) throw badInput("layer", `run ${runId} recorded layers ${run.layers.join(", ")}, not ${layer}`);
    if (run.dFF !== null && index >= run.dFF) throw badInput("index", `run ${runId} has ${run.dFF} neurons per layer (0..${run.dFF - 1}), not ${index}`);
    return { id: neuronId(layer, index), runId: String(runId), layer, index };
  }

  @FieldResolver(() => NeuronScore, {
    nullable: true,
    description:
      "The neuron's stored ranking score for a metric, as `neurons` lists it: r, its position, pAtPosition, pCorrected, and its rank " +
      "among all the run's neurons. Null when its r is undefined (see correlations' undefinedBecause) or the metric is not scored yet.",
    complexity: FIELD_COST.rankedPage,
  })
  async score(
    @Root() neuron: Neuron,
    @Arg("metric") metric: string,
    @Arg("aggregate", () => NeuronAggregate, { defaultValue: NeuronAggregate.MAX_ABS_OVER_POSITIONS }) aggregate: NeuronAggregate,
    @Ctx() { services }: GraphQLContext,
  ): Promise<NeuronScore | null> {
    const runId = Number(neuron.runId);
    await assertMetric(services, runId, metric);
    const s = await services.store.neuronScore(runId, metric, aggregate as ScoreAgg, neuron.layer, neuron.index);
    if (s === null) return null;
    return {
      id: neuron.id, layer: s.layer, index: s.neuron, metric, r: s.r,
      pAtPosition: s.p, pCorrected: s.pCorrected, bestPosition: s.position, rank: s.rank,
    };
  }

  @FieldResolver(() => [PositionCorrelation], { description: "Pearson r with a metric at every soft position (the run's stored scores).", complexity: FIELD_COST.neuronScan })
  async correlations(@Root() neuron: Neuron, @Arg("metric") metric: string, @Ctx() { services }: GraphQLContext): Promise<PositionCorrelation[]> {
    const runId = Number(neuron.runId);
    await assertMetric(services, runId, metric);
    const scores = await services.store.neuronPositionScores(runId, metric, neuron.layer, neuron.index);
    if (scores.length === 0) {
      throw new ApiError("CONFLICT", `run ${runId} has no stored scores for metric "${metric}" yet (scored when extraction ends; a topk run leaves a metric with missing values unscored)`, { metric });
    }
    const values = (await services.store.readMetricAligned(runId, metric)).value;
    const samples = values.filter(Number.isFinite).length;
    return scores.map((s) => ({
      position: s.position, r: finiteOrNull(s.r), pAtPosition: finiteOrNull(s.p), samples,
      undefinedBecause: Number.isFinite(s.r) ? null : (undefinedReason(values) as UndefinedReason),
    }));
  }

  @FieldResolver(() => [ExtremalSample], {
    description:
      "The k validation samples with the highest (or lowest) activations, read at the neuron's best position for `metric` unless " +
      "a position or maxOverPositions is named; each sample says what was read.",
    complexity: FIELD_COST.neuronScan,
  })
  async extremalSamples(
    @Root() neuron: Neuron,
    @Arg("direction", () => Direction, { defaultValue: Direction.HIGH }) direction: Direction,
    @Arg("k", () => Int, { defaultValue: 10, description: "How many, 1..1000." }) k: number,
    @Args() readingArgs: ReadingArgs,
    @Ctx() { services, loaders }: GraphQLContext,
  ): Promise<ExtremalSample[]> {
    pageSize(k, "k", services.limits);
    const runId = Number(neuron.runId);
    const reading = await readingFor(services, runId, neuron, readingArgs);
    const run = await services.store.getRun(runId);
    const storage = runStorage(run);
    const extremes = storage.mode === "topk"
      ? await reservoirExtremalRows(services.store, runId, storage.k, neuron, direction, k, reading)
      : extremalRows(await loaders.neuronRows.load(neuronRowsKey(neuron)), direction, k, reading);
    const details = await sampleDetails(services.store, runId, run.taskId, extremes.map((e) => e.sampleId));
    return extremes.map((e) => {
      const d = details.get(e.sampleId);
      return {
        ...e,
        runId,
        reading: reading.kind as ActivationReading,
        text: d?.row?.rendered ?? null,
        answer: d?.row?.answer ?? null,
        label: d?.row?.label ?? null,
        prediction: d?.output?.prediction ?? null,
        correct: d?.output?.correct ?? null,
        loss: finiteOrNull(d?.output?.loss),
      };
    });
  }

  @FieldResolver(() => ActivationHistogram, {
    description:
      "Histogram of the neuron's activations over the validation samples, read at its best position for `metric` unless a position " +
      "or maxOverPositions is named.",
    complexity: FIELD_COST.neuronScan,
  })
  async activationHistogram(
    @Root() neuron: Neuron,
    @Arg("bins", () => Int, { defaultValue: DEFAULT_BINS }) bins: number,
    @Args() readingArgs: ReadingArgs,
    @Ctx() { services, loaders }: GraphQLContext,
  ): Promise<ActivationHistogram> {
    checkBins(bins);
    const runId = Number(neuron.runId);
    const reading = await readingFor(services, runId, neuron, readingArgs);
    const rows = await loaders.neuronRows.load(neuronRowsKey(neuron));
    return { ...toHistogramData(activationHistogram(rows, reading, bins)), reading: reading.kind as ActivationReading, position: readPosition(reading) };
  }

  @Query(() => HistogramData, {
    description: "Histogram of r over a layer's neurons for a metric, bins over [-1, 1].",
    complexity: FIELD_COST.layerScan,
  })
  async correlationHistogram(
    @Arg("runId", () => ID) runIdArg: string,
    @Arg("metric") metric: string,
    @Arg("layer", () => Int) layer: number,
    @Arg("bins", () => Int, { defaultValue: DEFAULT_BINS }) bins: number,
    @Arg("aggregate", () => NeuronAggregate, { defaultValue: NeuronAggregate.MAX_ABS_OVER_POSITIONS }) aggregate: NeuronAggregate,
    @Arg("position", () => Int, { nullable: true, description: "r at this position instead of an aggregate." }) position: number | null,
    @Ctx() { services }: GraphQLContext,
  ): Promise<HistogramData> {
    const runId = parseId(runIdArg, "runId");
    checkBins(bins);
    position = optionalIndex(position, "position");
    await assertMetric(services, runId, metric);
    const query: ScoreQuery = { metric, layer: nonNegativeInt(layer, "layer"), agg: position === null ? (aggregate as ScoreAgg) : "position", first: SCAN_PAGE };
    if (position !== null) query.position = position;
    const r: number[] = [];
    for (let after: string | null = null; ; ) {
      const page = await services.store.queryScores(runId, { ...query, after });
      for (const row of page.rows) r.push(row.r);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    return toHistogramData(histogram(r, bins, -1, 1));
  }
}

@Resolver(() => ExtremalSample)
export class ExtremalSampleResolver {
  @FieldResolver(() => [MetricValue], {
    description: "The sample's metric values (all metrics, or the named ones).",
    complexity: FIELD_COST.rankedPage,
  })
  async metrics(
    @Root() sample: ExtremalSample,
    @Arg("names", () => [String], { nullable: true }) names: string[] | null,
    @Ctx() { services, loaders }: GraphQLContext,
  ): Promise<MetricValue[]> {
    const wanted = names ?? (await services.store.listMetrics(sample.runId)).map((m) => m.name);
    // one read per metric for all the samples of the request (DataLoader), not one per sample
    const tables = await loaders.metricValues.loadMany(wanted.map((name) => `${sample.runId}/${name}`));
    return wanted.map((name, i) => {
      const table = tables[i]!;
      if (table instanceof Error) throw table;
      return { name, value: finiteOrNull(table[sample.sampleIdx]) };
    });
  }
}

/** The key of `loaders.neuronRows`. */
function neuronRowsKey(neuron: Neuron): string {
  return `${neuron.runId}/${neuron.layer}/${neuron.index}`;
}

async function assertMetric(services: Services, runId: number, metric: string): Promise<void> {
  const known = (await services.store.listMetrics(runId)).map((m) => m.name);
  if (!known.includes(metric)) {
    throw new ApiError("NOT_FOUND", `run ${runId} has no metric "${metric}"; it has: ${known.join(", ") || "none yet"}`, { metric });
  }
}

/** An omitted nullable argument arrives as undefined: normalise to null, check the rest. */
function optionalIndex(value: number | null | undefined, field: string): number | null {
  return value == null ? null : nonNegativeInt(value, field);
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_BINS) throw badInput("bins", `must be an integer in 1..${MAX_BINS}, got ${bins}`);
}

function toHistogramData(h: Histogram): HistogramData {
  return { edges: Array.from(h.edges), counts: Array.from(h.counts), undefinedCount: h.undefinedCount };
}
