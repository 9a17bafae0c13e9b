/**
 * Every GraphQL request the dashboard makes, with the shapes it reads back. Pages call these
 * builders and keep the request beside the figure it feeds, so the figure's data can be fetched
 * again outside the browser.
 */
import type { GraphQLRequest } from "./graphql.js";

export type RunStatus = "QUEUED" | "RUNNING" | "TRAINING" | "EXTRACTING" | "SCORING" | "DONE" | "FAILED" | "CANCELLED" | "INTERRUPTED";
export const ACTIVE_STATUSES: readonly RunStatus[] = ["QUEUED", "RUNNING", "TRAINING", "EXTRACTING", "SCORING"];

export interface RunSummary {
  id: string;
  status: RunStatus;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  model: { path: string; family: string };
  task: { name: string };
}

export function runsRequest(first = 100): GraphQLRequest {
  return {
    query: `query Runs($first: Int!) {
  runs(first: $first) {
    totalCount
    edges { node { id status error createdAt updatedAt model { path family } task { name } } }
  }
}`,
    variables: { first },
  };
}
export interface RunsData {
  runs: { totalCount: number; edges: { node: RunSummary }[] };
}

export interface MetricInfo {
  name: string;
  kind: string;
  description: string | null;
}

export interface RunDetail extends RunSummary {
  neuronDefinition: string | null;
  layers: number[] | null;
  positions: number | null;
  dFF: number | null;
  metrics: MetricInfo[];
}

export function runRequest(id: string): GraphQLRequest {
  return {
    query: `query Run($id: ID!) {
  run(id: $id) {
    id status error createdAt updatedAt neuronDefinition layers positions dFF
    model { path family }
    task { name }
    metrics { name kind description }
  }
}`,
    variables: { id },
  };
}
export interface RunData {
  run: RunDetail;
}

/** Stored progress reports of a run (the history before the live subscription joins). */
export function runEventsRequest(id: string, afterSeq = 0, first = 1000): GraphQLRequest {
  return {
    query: `query RunEvents($id: ID!, $afterSeq: Int!, $first: Int!) {
  run(id: $id) { id events(afterSeq: $afterSeq, first: $first) { seq payload } }
}`,
    variables: { id, afterSeq, first },
  };
}
export interface RunEventsData {
  run: { id: string; events: { seq: number; payload: unknown }[] };
}

export interface ProgressEvent {
  runId: string;
  seq: number;
  phase: string;
  step: number;
  totalSteps: number | null;
  epoch: number;
  loss: number;
  lr: number;
  valLoss: number | null;
  valAccuracy: number | null;
  tokensPerSec: number;
  etaSec: number | null;
}

export function trainingProgressRequest(runId: string): GraphQLRequest {
  return {
    query: `subscription TrainingProgress($runId: ID!) {
  trainingProgress(runId: $runId) { runId seq phase step totalSteps epoch loss lr valLoss valAccuracy tokensPerSec etaSec }
}`,
    variables: { runId },
  };
}
export interface TrainingProgressData {
  trainingProgress: ProgressEvent;
}

export function runStatusRequest(runId: string): GraphQLRequest {
  return {
    query: `subscription RunStatus($runId: ID!) {
  runStatus(runId: $runId) { runId status error at }
}`,
    variables: { runId },
  };
}
export interface RunStatusData {
  runStatus: { runId: string; status: RunStatus; error: string | null; at: string };
}

/** How a neuron's per-position r is reduced to one score. */
export type Aggregate = "MAX_ABS_OVER_POSITIONS" | "MAX_ACTIVATION";

export interface RankedNeuron {
  id: string;
  layer: number;
  index: number;
  r: number;
  /** Position of r (null for MAX_ACTIVATION). */
  bestPosition: number | null;
  /** p of r at its position alone. */
  pAtPosition: number | null;
  /** p corrected for choosing the best of P positions (Sidak); equals pAtPosition where nothing was chosen. */
  pCorrected: number | null;
  rank: number;
}

export interface NeuronFilter {
  runId: string;
  metric: string;
  aggregate: Aggregate;
  layer?: number | null;
  minAbsR?: number | null;
  first: number;
}

export function neuronsRequest(filter: NeuronFilter): GraphQLRequest {
  return {
    query: `query Neurons($runId: ID!, $metric: String!, $aggregate: NeuronAggregate!, $layer: Int, $minAbsR: Float, $first: Int!) {
  neurons(runId: $runId, metric: $metric, aggregate: $aggregate, layer: $layer, minAbsR: $minAbsR, first: $first) {
    totalCount
    edges { node { id layer index r pAtPosition pCorrected bestPosition rank } }
  }
}`,
    variables: { layer: null, minAbsR: null, ...filter },
  };
}
export interface NeuronsData {
  neurons: { totalCount: number; edges: { node: RankedNeuron }[] };
}

/** Alias of the heat-map cell (layer, position) in strongestPerCellRequest. */
export function cellAlias(layer: number, position: number): string {
  return `c${layer}_${position}`;
}

/**
 * The strongest neuron (largest |r| at that position) of every (layer, position) in one request,
 * one aliased `neurons(first: 1)` per cell, for the layer x position heat map.
 */
export function strongestPerCellRequest(runId: string, metric: string, layers: readonly number[], positions: number): GraphQLRequest {
  const fields: string[] = [];
  for (const layer of layers) {
    for (let p = 0; p < positions; p++) {
      fields.push(`  ${cellAlias(layer, p)}: neurons(runId: $runId, metric: $metric, layer: ${layer}, position: ${p}, first: 1) { edges { node { index r } } }`);
    }
  }
  return { query: `query StrongestPerCell($runId: ID!, $metric: String!) {\n${fields.join("\n")}\n}`, variables: { runId, metric } };
}
export type StrongestPerCellData = Record<string, { edges: { node: { index: number; r: number } }[] }>;

/** Counts in equal bins: bin i is [edges[i], edges[i+1]), the last closed. */
export interface HistogramData {
  edges: number[];
  counts: number[];
  /** Values left out as undefined (NaN r). */
  undefinedCount: number;
}

/** Alias of a layer in correlationHistogramsRequest. */
export function layerAlias(layer: number): string {
  return `l${layer}`;
}

/** Histograms of r over each layer's neurons (one aliased field per layer): the paper's Figs 6-7. */
export function correlationHistogramsRequest(runId: string, metric: string, aggregate: Aggregate, layers: readonly number[], bins: number): GraphQLRequest {
  const fields = layers.map(
    (layer) => `  ${layerAlias(layer)}: correlationHistogram(runId: $runId, metric: $metric, aggregate: $aggregate, layer: ${layer}, bins: $bins) { edges counts undefinedCount }`,
  );
  return {
    query: `query CorrelationHistograms($runId: ID!, $metric: String!, $aggregate: NeuronAggregate!, $bins: Int!) {\n${fields.join("\n")}\n}`,
    variables: { runId, metric, aggregate, bins },
  };
}
export type CorrelationHistogramsData = Record<string, HistogramData>;

export interface PositionR {
  position: number;
  r: number | null;
  /** p at this position alone (not corrected for choosing a best position). */
  pAtPosition: number | null;
  /** Samples with a value of the metric. */
  samples: number;
}

export interface ExtremalSample {
  rank: number;
  sampleIdx: number;
  sampleId: string;
  activation: number;
  /** What was read: BEST_POSITION, POSITION or MAX_OVER_POSITIONS. */
  reading: ActivationReading;
  /** Position read (for MAX_OVER_POSITIONS: where this sample peaked). */
  position: number | null;
  text: string | null;
  answer: string | null;
  label: string | null;
  prediction: string | null;
  correct: boolean | null;
  loss: number | null;
  metrics: { name: string; value: number | null }[];
}

export interface NeuronDetail {
  id: string;
  layer: number;
  index: number;
  correlations: PositionR[];
  high: ExtremalSample[];
  low: ExtremalSample[];
  activationHistogram: HistogramData & { reading: ActivationReading; position: number | null };
}

export type ActivationReading = "BEST_POSITION" | "POSITION" | "MAX_OVER_POSITIONS";

/** What the neuron page reads: the best position for the metric (null position, not max), a position, or the max over positions. */
export interface ReadingChoice {
  position: number | null;
  maxOverPositions: boolean;
}

const SAMPLE_FIELDS = "rank sampleIdx sampleId activation reading position text answer label prediction correct loss metrics { name value }";
const READING_ARGS = "metric: $metric, position: $position, maxOverPositions: $maxOverPositions";

/** A neuron's r per position, its extremal samples (both directions) and its activation histogram, read as `reading` says. */
export function neuronRequest(runId: string, layer: number, index: number, metric: string, k: number, reading: ReadingChoice, bins: number): GraphQLRequest {
  return {
    query: `query Neuron($runId: ID!, $layer: Int!, $index: Int!, $metric: String!, $k: Int!, $position: Int, $maxOverPositions: Boolean, $bins: Int!) {
  neuron(runId: $runId, layer: $layer, index: $index) {
    id layer index
    correlations(metric: $metric) { position r pAtPosition samples }
    high: extremalSamples(direction: HIGH, k: $k, ${READING_ARGS}) { ${SAMPLE_FIELDS} }
    low: extremalSamples(direction: LOW, k: $k, ${READING_ARGS}) { ${SAMPLE_FIELDS} }
    activationHistogram(bins: $bins, ${READING_ARGS}) { edges counts undefinedCount reading position }
  }
}`,
    variables: { runId, layer, index, metric, k, position: reading.position, maxOverPositions: reading.maxOverPositions, bins },
  };
}
export interface NeuronData {
  neuron: NeuronDetail;
}

/**
 * Every sample's activation of a neuron with its value of one metric (`k` = all samples), to split
 * the activation histogram by metric value.
 */
export function activationsWithMetricRequest(runId: string, layer: number, index: number, metric: string, k: number, reading: ReadingChoice): GraphQLRequest {
  return {
    query: `query NeuronActivationsByMetric($runId: ID!, $layer: Int!, $index: Int!, $metric: String!, $k: Int!, $position: Int, $maxOverPositions: Boolean) {
  neuron(runId: $runId, layer: $layer, index: $index) {
    id
    samples: extremalSamples(direction: HIGH, k: $k, ${READING_ARGS}) { sampleId activation reading position metrics(names: [$metric]) { value } }
  }
}`,
    variables: { runId, layer, index, metric, k, position: reading.position, maxOverPositions: reading.maxOverPositions },
  };
}
export interface ActivationsWithMetricData {
  neuron: { id: string; samples: { sampleId: string; activation: number; metrics: { value: number | null }[] }[] };
}

export function serverLimitsRequest(): GraphQLRequest {
  return { query: "query Limits { serverInfo { limits { maxPageSize } } }", variables: {} };
}
export interface ServerLimitsData {
  serverInfo: { limits: { maxPageSize: number } };
}

export interface LeaderboardEntry {
  id: string;
  layer: number;
  index: number;
  r: number;
  bestPosition: number;
  rank: number;
}

/** The live top-k neurons of a run for one metric while it extracts. */
export function leaderboardRequest(runId: string, metric: string, k: number): GraphQLRequest {
  return {
    query: `subscription NeuronLeaderboard($runId: ID!, $metric: String!, $k: Int!) {
  neuronLeaderboard(runId: $runId, metric: $metric, k: $k) { runId metric samplesSeen neurons { id layer index r bestPosition rank } }
}`,
    variables: { runId, metric, k },
  };
}
export interface LeaderboardData {
  /** samplesSeen: validation samples streamed so far (all of them once extraction ends). */
  neuronLeaderboard: { runId: string; metric: string; samplesSeen: number; neurons: LeaderboardEntry[] };
}

export interface LayerNullHistogram {
  layer: number;
  /** [bins + 1] edges over [-1, 1] */
  edges: number[];
  /** Observed (position, neuron) pairs per bin. */
  observed: number[];
  /** Expected count per bin under the shuffled-metric null. */
  expectedNull: number[];
}

/** The permutation null of a run's correlations with a metric: per-layer null histograms and chance thresholds of |r|. */
export function significanceRequest(runId: string, metric: string, bins: number): GraphQLRequest {
  return {
    query: `query Significance($runId: ID!, $metric: String!, $bins: Int!) {
  significance(runId: $runId, metric: $metric, bins: $bins) {
    metric permutations samples tests maxAbsR999 bhAbsRThreshold q discoveries neuronTests neuronDiscoveries neuronPCorrectedThreshold
    layers { layer edges observed expectedNull }
  }
}`,
    variables: { runId, metric, bins },
  };
}
export interface SignificanceData {
  significance: {
    metric: string;
    permutations: number;
    samples: number;
    tests: number;
    /** Chance level of the largest |r| over every neuron (99.9th percentile of the null max). */
    maxAbsR999: number;
    bhAbsRThreshold: number | null;
    q: number;
    discoveries: number;
    /** Neurons tested once each at their best position. */
    neuronTests: number;
    /** Neurons significant under BH over their position-corrected p. */
    neuronDiscoveries: number;
    neuronPCorrectedThreshold: number;
    layers: LayerNullHistogram[];
  };
}

export type AblationMode = "ZERO" | "MEAN" | "NOISE";

export interface Interval {
  estimate: number | null;
  low: number | null;
  high: number | null;
}
export interface CausalEffect {
  ablated: Interval;
  random: Interval;
  effect: Interval;
  z: number | null;
  pRandom: number;
}
export interface CausalConditionSummary {
  name: string;
  accuracy: number;
  meanLoss: number;
  meanGoldProb: number;
  changed: number;
  meanKl: number;
}

/** Ablates a metric's top-K neurons against random neuron sets of the same layers (a mutation: needs the token). */
export function ablateRequest(runId: string, metric: string, k: number, mode: AblationMode, randomDraws: number, seed: number): GraphQLRequest {
  const effect = "{ ablated { estimate low high } random { estimate low high } effect { estimate low high } z pRandom }";
  const condition = "{ name accuracy meanLoss meanGoldProb changed meanKl }";
  return {
    query: `mutation AblateNeurons($runId: ID!, $metric: String!, $k: Int!, $mode: AblationMode!, $randomDraws: Int!, $seed: Int!) {
  ablateNeurons(runId: $runId, metric: $metric, k: $k, mode: $mode, randomDraws: $randomDraws, seed: $seed) {
    runId metric mode sampleCount
    neurons { id r }
    baseline ${condition}
    ablated ${condition}
    random ${condition}
    deltas { accuracy ${effect} loss ${effect} }
  }
}`,
    variables: { runId, metric, k, mode, randomDraws, seed },
  };
}
export interface AblationData {
  ablateNeurons: {
    runId: string;
    metric: string;
    mode: AblationMode;
    sampleCount: number;
    neurons: { id: string; r: number | null }[];
    baseline: CausalConditionSummary;
    ablated: CausalConditionSummary;
    random: CausalConditionSummary[];
    deltas: { accuracy: CausalEffect; loss: CausalEffect };
  };
}
