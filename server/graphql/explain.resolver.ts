import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Args, ArgsType, Ctx, Field, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { ServiceError } from "../errors.js";
import { explainNeurons, probeRun } from "../explain/index.js";
import type { StoredExplanation } from "../store/explanations.js";
import { parseNeuronId } from "./causal.resolver.js";
import type { GraphQLContext } from "./context.js";
import { NeuronExplanation, ProbeResult } from "./explain.type.js";
import { parseId } from "./ids.js";
import { FIELD_COST, pageSize } from "./limits.js";
import { neuronId } from "../../gpu-runner/neuron-id.js";

@ArgsType()
class ProbeArgs {
  @Field(() => ID)
  runId!: string;

  @Field(() => [String], { nullable: true, description: "Free texts; each fills the template's single field (or is the whole instruction with raw: true)." })
  texts?: string[] | null;

  @Field(() => [GraphQLJSONObject], { nullable: true, description: "Task-format rows ({field: value, ..., answer?, label?}), rendered with the task's template." })
  rows?: Record<string, unknown>[] | null;

  @Field(() => [ID], { nullable: true, description: "Samples of the run's task (any split), as stored." })
  sampleIds?: string[] | null;

  @Field({ defaultValue: false, description: "Texts only: forward each text as the instruction, without the template." })
  raw!: boolean;

  @Field(() => String, { nullable: true, description: "Texts only: the gold answer text for every text (else goldProb, loss and correct are null)." })
  answer?: string | null;

  @Field(() => [ID], { nullable: true, description: "Neurons to read (L{layer}.N{index}); default the metric's top-k." })
  neuronIds?: string[] | null;

  @Field(() => String, { nullable: true, description: "Chooses the default neurons and each neuron's best position; default label, else the run's first metric." })
  metric?: string | null;

  @Field(() => Int, { defaultValue: 10, description: "How many top neurons when neuronIds is not given, 1..100." })
  k!: number;
}

@ArgsType()
class ExplainArgs {
  @Field(() => ID)
  runId!: string;

  @Field(() => [ID], { nullable: true, description: "Neurons to explain (L{layer}.N{index}); default the metric's top-k." })
  neuronIds?: string[] | null;

  @Field(() => String, { nullable: true, description: "Picks the default neurons and each neuron's best position; default label, else the run's first metric." })
  metric?: string | null;

  @Field(() => Int, { defaultValue: 10, description: "How many top neurons when neuronIds is not given, 1..100." })
  k!: number;

  @Field(() => Int, { defaultValue: 5, description: "Explanations kept per neuron, 1..20." })
  top!: number;

  @Field({
    defaultValue: false,
    description: "Also ask the LLM the server was started with (serve --llm-url) for an explanation, scored by simulating held-out samples. Refused when none is configured.",
  })
  llm!: boolean;
}

@ArgsType()
class SearchArgs {
  @Field(() => ID, { nullable: true, description: "One run; all runs when absent." })
  runId?: string | null;

  @Field(() => String, { nullable: true, description: "Case-insensitive text in the explanation (e.g. digit, overlap, 'ends in 0')." })
  text?: string | null;

  @Field(() => String, { nullable: true, description: "Feature kind: word, bigram, word-set, metric, length, digit, overlap, llm." })
  kind?: string | null;

  @Field(() => String, { nullable: true, description: "A word that drives the neuron (its explanation reads it)." })
  word?: string | null;

  @Field(() => String, { nullable: true })
  metric?: string | null;

  @Field({ defaultValue: true, description: "Only each neuron's best explanation." })
  bestOnly!: boolean;

  @Field(() => Int, { defaultValue: 20, description: "1..1000" })
  first!: number;
}

@Resolver()
export class ExplainResolver {
  @Query(() => ProbeResult, {
    description:
      "Runs the run's trained prompt on your inputs in a worker (well under a second for one input on the demo) and reads the chosen neurons " +
      "at every soft position and at their best position, with the prediction, the gold-answer probability and each reading's percentile in " +
      "the neuron's validation distribution. Closing the request cancels the job.",
    complexity: FIELD_COST.layerScan,
  })
  async probe(@Args() a: ProbeArgs, @Ctx() { services, signal }: GraphQLContext): Promise<ProbeResult> {
    const runId = parseId(a.runId, "runId");
    const neurons = a.neuronIds?.map((id) => {
      const { layer, index } = parseNeuronId(id, "neuronIds");
      return { layer, neuron: index };
    });
    // a worker job: it waits its turn in the run queue; closing the request or cancelJob stops it
    const result = await services.runs.runJob(runId, "probe", (jobSignal) => probeRun(services.store, runId, {
      texts: a.texts ?? undefined, rows: a.rows ?? undefined, sampleIds: a.sampleIds ?? undefined, raw: a.raw || undefined, answer: a.answer ?? undefined,
    }, { neurons, metric: a.metric ?? undefined, k: a.k, signal: signal ? AbortSignal.any([signal, jobSignal]) : jobSignal, modelRoots: services.runs.modelRoots }));
    const ids = result.neurons.map((n) => neuronId(n.layer, n.neuron));
    return {
      runId: String(runId),
      metric: result.metric,
      seconds: result.seconds,
      neurons: result.neurons.map((n, k) => ({ id: ids[k]!, layer: n.layer, index: n.neuron, bestPosition: n.bestPosition, r: Number.isFinite(n.r) ? n.r : null })),
      samples: result.samples.map((s) => ({
        ...s,
        readings: s.readings.map((r, k) => ({ neuronId: ids[k]!, activations: Array.from(r.activations), atBest: r.atBest, percentile: r.percentile })),
      })),
    };
  }

  @Mutation(() => [NeuronExplanation], {
    description:
      "Explains neurons offline: candidate input features (words, bigrams, word sets, task columns and metrics, lengths, digits, overlaps) " +
      "shortlisted by r with the activation at the neuron's best position on the ranking split, then scored and ordered on held-out samples " +
      "(the task's other splits, forwarded in a worker). Stored, replacing earlier offline explanations; searchNeurons finds them.",
    complexity: FIELD_COST.layerScan,
  })
  async explainNeurons(@Args() a: ExplainArgs, @Ctx() { services, signal }: GraphQLContext): Promise<NeuronExplanation[]> {
    const runId = parseId(a.runId, "runId");
    const neurons = a.neuronIds?.map((id) => {
      const { layer, index } = parseNeuronId(id, "neuronIds");
      return { layer, neuron: index };
    });
    if (a.llm && !services.llm) throw new ServiceError("BAD_STATE", "no LLM is configured: start the server with --llm-url URL --llm-model NAME (nothing is sent anywhere without it)");
    // a worker job (the held-out forwards) and maybe LLM calls: it queues like a probe
    const done = await services.runs.runJob(runId, "explain", (jobSignal) => explainNeurons(services.store, runId, {
      neurons, metric: a.metric ?? undefined, k: a.k, top: a.top, signal: signal ? AbortSignal.any([signal, jobSignal]) : jobSignal,
      modelRoots: services.runs.modelRoots, llm: a.llm ? services.llm : undefined,
    }));
    const stored = await Promise.all(done.map((n) => services.store.searchExplanations({ runId, layer: n.layer, neuron: n.neuron, metric: n.metric, first: 100 })));
    const sources = a.llm ? ["features", "llm"] : ["features"];
    return stored.flat().filter((e) => sources.includes(e.source)).sort((x, y) => x.layer - y.layer || x.neuron - y.neuron || x.source.localeCompare(y.source) || x.rank - y.rank).map(toExplanation);
  }

  @Query(() => [NeuronExplanation], {
    description: "Stored explanations of one neuron (from explainNeurons, or an LLM explainer), best first.",
    complexity: FIELD_COST.rankedPage,
  })
  async explanations(
    @Arg("runId", () => ID) runArg: string,
    @Arg("neuronId", () => ID, { description: "L{layer}.N{index}" }) id: string,
    @Arg("metric", () => String, { nullable: true, description: "Only those read at this metric's best position." }) metric: string | null,
    @Ctx() { services }: GraphQLContext,
  ): Promise<NeuronExplanation[]> {
    const runId = parseId(runArg, "runId");
    const { layer, index } = parseNeuronId(id, "neuronId");
    const found = await services.store.searchExplanations({ runId, layer, neuron: index, metric: metric ?? undefined, first: 1000 });
    return found.sort((x, y) => x.metric.localeCompare(y.metric) || x.source.localeCompare(y.source) || x.rank - y.rank).map(toExplanation);
  }

  @Query(() => [NeuronExplanation], {
    description:
      "Finds neurons by what they do: stored explanations matching a text (e.g. \"digit\", \"overlap\"), a feature kind, or a word that drives them, " +
      "in one run or all runs; the most predictive (held-out AUC farthest from 0.5) first. Each result names its run and neuron.",
    complexity: FIELD_COST.rankedPage,
  })
  async searchNeurons(@Args() a: SearchArgs, @Ctx() { services }: GraphQLContext): Promise<NeuronExplanation[]> {
    pageSize(a.first, "first", services.limits);
    const found = await services.store.searchExplanations({
      runId: a.runId == null ? undefined : parseId(a.runId, "runId"),
      text: a.text ?? undefined, kind: a.kind ?? undefined, word: a.word ?? undefined, metric: a.metric ?? undefined,
      bestOnly: a.bestOnly, first: a.first,
    });
    return found.map(toExplanation);
  }
}

interface StoredDetail {
  misses?: { sampleId: string; activation: number; feature: number; predicted: string }[];
  missCount?: number;
  equivalents?: { description: string }[];
}

function toExplanation(e: StoredExplanation): NeuronExplanation {
  const d = (e.detail ?? {}) as StoredDetail;
  return {
    neuronId: neuronId(e.layer, e.neuron), runId: String(e.runId), layer: e.layer, index: e.neuron, metric: e.metric, position: e.position,
    source: e.source.toUpperCase(), rank: e.rank, featureId: e.featureId, kind: e.kind, description: e.description, words: e.words,
    selectionR: e.selectionR, heldOutR: e.heldOutR, heldOutAuc: e.heldOutAuc, effectSize: e.effectSize, heldOutSamples: e.heldOutSamples,
    missCount: d.missCount ?? null,
    misses: (d.misses ?? []).map((m) => ({ ...m, predicted: m.predicted.toUpperCase() })),
    equivalents: (d.equivalents ?? []).map((q) => q.description),
    dashboardPath: `#/runs/${e.runId}/neurons/${neuronId(e.layer, e.neuron)}?metric=${encodeURIComponent(e.metric)}`,
  };
}
