/**
 * Every GraphQL request the dashboard makes, built from the typed client's documents
 * (clients/client/documents.ts) with the result types `npm run codegen` generates. Pages call these
 * builders and keep the request beside the figure it feeds, so the figure's data can be fetched
 * again outside the browser.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse, print } from "graphql";
// From the generated module, not documents.ts: the bundle then keeps only the documents used here.
import {
  AblateNeuronsDocument,
  CorrelationHistogramFragmentDoc,
  NeuronActivationsByMetricDocument,
  NeuronDetailDocument,
  NeuronLeaderboardUpdatesDocument,
  ProbeDocument,
  RunDetailDocument,
  RunEventsDocument,
  RunsDocument,
  RunStatusChangesDocument,
  ServerLimitsDocument,
  SignificanceDocument,
  StrongestNeuronFragmentDoc,
  TopNeuronsDocument,
  TrainingProgressReportsDocument,
} from "../../client/generated/graphql.js";
import type * as G from "../../client/generated/graphql.js";
import { LIVE_STATUSES, type RunStatus as StoredRunStatus } from "../../../server/store/run-status.js";
import type { GraphQLRequest } from "./graphql.js";

/** A request of `document` with `variables` (the document fixes their type). */
function request<R, V>(document: TypedDocumentNode<R, V>, variables: NoInfer<V>): GraphQLRequest<R, V> {
  return { document, variables };
}

export type RunStatus = G.RunStatus;
export type Aggregate = G.NeuronAggregate;
export type AblationMode = G.AblationMode;
export type ActivationReading = G.ActivationReading;

// The API's status names are the stored ones in capitals: checked here, at compile time.
const _statusNamesAgree: Uppercase<StoredRunStatus> extends RunStatus ? (RunStatus extends Uppercase<StoredRunStatus> ? true : never) : never = true;
void _statusNamesAgree;

/** Whether a run in this status changes by itself (queued or working), so pages follow it live: the store's LIVE_STATUSES. */
export function isLive(status: RunStatus): boolean {
  return (LIVE_STATUSES as readonly string[]).includes(status.toLowerCase());
}

export type RunSummary = G.RunsQuery["runs"]["edges"][number]["node"];
export type RunDetail = G.RunDetailQuery["run"];
export type RankedNeuron = G.TopNeuronsQuery["neurons"]["edges"][number]["node"];
export type HistogramData = G.CorrelationHistogramFragment;
export type NeuronDetail = G.NeuronDetailQuery["neuron"];
export type ExtremalSample = G.ExtremalSampleFieldsFragment;
export type LeaderboardEntry = G.NeuronLeaderboardUpdatesSubscription["neuronLeaderboard"]["neurons"][number];
export type LayerNullHistogram = G.SignificanceQuery["significance"]["layers"][number];
export type Significance = G.SignificanceQuery["significance"];
export type Ablation = G.AblateNeuronsMutation["ablateNeurons"];
export type CausalEffect = G.CausalEffectFieldsFragment;
export type Interval = CausalEffect["effect"];
export type ProbeResult = G.ProbeQuery["probe"];

export function runsRequest(first = 100) {
  return request(RunsDocument, { first });
}

export function runRequest(id: string) {
  return request(RunDetailDocument, { id });
}

/** Stored progress reports of a run (the history before the live subscription joins). */
export function runEventsRequest(id: string, afterSeq = 0, first = 1000) {
  return request(RunEventsDocument, { id, afterSeq, first });
}

export function trainingProgressRequest(runId: string) {
  return request(TrainingProgressReportsDocument, { runId });
}

export function runStatusRequest(runId: string) {
  return request(RunStatusChangesDocument, { runId });
}

export interface NeuronFilter {
  runId: string;
  metric: string;
  aggregate: Aggregate;
  layer?: number | null;
  minAbsR?: number | null;
  first: number;
}

export function neuronsRequest(filter: NeuronFilter) {
  return request(TopNeuronsDocument, { layer: null, minAbsR: null, ...filter });
}

/** Alias of the heat-map cell (layer, position) in strongestPerCellRequest. */
export function cellAlias(layer: number, position: number): string {
  return `c${layer}_${position}`;
}

/** Alias of a layer in correlationHistogramsRequest. */
export function layerAlias(layer: number): string {
  return `l${layer}`;
}

/**
 * One query of the same fragment under many aliases (`fields` maps each alias to its field call);
 * the document is built here because the number of aliases depends on the run's shape.
 */
function aliasedQuery<F, V>(name: string, variables: string, fields: Record<string, string>, fragment: TypedDocumentNode<F, unknown>): TypedDocumentNode<Record<string, F>, V> {
  const fragmentName = /fragment (\w+)/.exec(print(fragment))![1]!;
  const body = Object.entries(fields).map(([alias, call]) => `  ${alias}: ${call} { ...${fragmentName} }`).join("\n");
  return parse(`query ${name}(${variables}) {\n${body}\n}\n\n${print(fragment)}`) as TypedDocumentNode<Record<string, F>, V>;
}

/**
 * The strongest neuron (largest |r| at that position) of every (layer, position) in one request,
 * one aliased `neurons(first: 1)` per cell, for the layer x position heat map.
 */
export function strongestPerCellRequest(runId: string, metric: string, layers: readonly number[], positions: number) {
  const fields: Record<string, string> = {};
  for (const layer of layers) {
    for (let p = 0; p < positions; p++) fields[cellAlias(layer, p)] = `neurons(runId: $runId, metric: $metric, layer: ${layer}, position: ${p}, first: 1)`;
  }
  const document = aliasedQuery<G.StrongestNeuronFragment, { runId: string; metric: string }>("StrongestPerCell", "$runId: ID!, $metric: String!", fields, StrongestNeuronFragmentDoc);
  return request(document, { runId, metric });
}

/** Histograms of r over each layer's neurons (one aliased field per layer): the paper's Figs 6-7. */
export function correlationHistogramsRequest(runId: string, metric: string, aggregate: Aggregate, layers: readonly number[], bins: number) {
  const fields = Object.fromEntries(
    layers.map((layer) => [layerAlias(layer), `correlationHistogram(runId: $runId, metric: $metric, aggregate: $aggregate, layer: ${layer}, bins: $bins)`]),
  );
  const document = aliasedQuery<HistogramData, { runId: string; metric: string; aggregate: Aggregate; bins: number }>(
    "CorrelationHistograms",
    "$runId: ID!, $metric: String!, $aggregate: NeuronAggregate!, $bins: Int!",
    fields,
    CorrelationHistogramFragmentDoc,
  );
  return request(document, { runId, metric, aggregate, bins });
}

/** What the neuron page reads: the best position for the metric (null position, not max), a position, or the max over positions. */
export interface ReadingChoice {
  position: number | null;
  maxOverPositions: boolean;
}

/** A neuron's r per position, its extremal samples (both directions) and its activation histogram, read as `reading` says. */
export function neuronRequest(runId: string, layer: number, index: number, metric: string, k: number, reading: ReadingChoice, bins: number) {
  return request(NeuronDetailDocument, { runId, layer, index, metric, k, position: reading.position, maxOverPositions: reading.maxOverPositions, bins });
}

/**
 * Every sample's activation of a neuron with its value of one metric (`k` = all samples), to split
 * the activation histogram by metric value.
 */
export function activationsWithMetricRequest(runId: string, layer: number, index: number, metric: string, k: number, reading: ReadingChoice) {
  return request(NeuronActivationsByMetricDocument, { runId, layer, index, metric, k, position: reading.position, maxOverPositions: reading.maxOverPositions });
}

export function serverLimitsRequest() {
  return request(ServerLimitsDocument, {});
}

/** The live top-k neurons of a run for one metric while it extracts. */
export function leaderboardRequest(runId: string, metric: string, k: number) {
  return request(NeuronLeaderboardUpdatesDocument, { runId, metric, k });
}

/** The permutation null of a run's correlations with a metric: per-layer null histograms and chance thresholds of |r|. */
export function significanceRequest(runId: string, metric: string, bins: number) {
  return request(SignificanceDocument, { runId, metric, bins });
}

/** Ablates a metric's top-K neurons against random neuron sets of the same layers (a mutation: needs the token). */
export function ablateRequest(runId: string, metric: string, k: number, mode: AblationMode, randomDraws: number, seed: number) {
  return request(AblateNeuronsDocument, { runId, metric, k, mode, randomDraws, seed });
}

/** Runs the trained prompt on typed inputs and reads the given neurons (the neuron page's test box). */
export function probeRequest(runId: string, neuronId: string, metric: string, texts: readonly string[], raw: boolean, answer: string | null) {
  return request(ProbeDocument, { runId, texts: [...texts], raw, answer, neuronIds: [neuronId], metric });
}
