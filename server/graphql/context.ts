import DataLoader from "dataloader";
import type { LlmConfig } from "../explain/llm.js";
import type { RunManager } from "../runs/run-manager.js";
import type { ModelRecord, Store, TaskRecord } from "../store/index.js";
import type { Limits } from "./limits.js";
import type { LiveEvents } from "./live-events.js";
import { loadNeuronRows, type NeuronRows } from "./neuron-service.js";
import type { RunReadCache } from "./run-cache.js";

/** What the resolvers call. Built once per server; tests build it from real parts. */
export interface Services {
  /** The database (the only owner of DuckDB), seen through `reads`: a done run's reads are kept until it changes. */
  readonly store: Store;
  /** Queues, runs, cancels and resumes runs; its events feed `live`. */
  readonly runs: RunManager;
  readonly live: LiveEvents;
  /** Reads of finished runs kept between requests; `store` is its cached view. */
  readonly reads: RunReadCache;
  readonly limits: Limits;
  /** Folders `registerModel` may read checkpoints from. */
  readonly modelRoots: readonly string[];
  /** Folders `importTask` may read task files from. */
  readonly taskRoots: readonly string[];
  /** Folder `exportRun` writes under (`<dataDir>/exports` by default). */
  readonly exportRoot: string;
  /** Package version, reported by `serverInfo`. */
  readonly version: string;
  /** The LLM explainNeurons(llm: true) asks; absent unless the server was started with one. */
  readonly llm?: LlmConfig;
}

/** What the caller of one request may do (decided by the transport from token and address). */
export interface RequestAuth {
  /** Queries and subscriptions. */
  readonly canRead: boolean;
  /** Mutations: a valid bearer token was presented. */
  readonly canWrite: boolean;
}

/**
 * Per-request caches: a page of runs that share a model reads it once; a neuron's sub-fields read
 * its activations once; extremal samples read each metric table once, not once per sample.
 */
export interface Loaders {
  readonly model: DataLoader<number, ModelRecord>;
  readonly task: DataLoader<number, TaskRecord>;
  /** Key: `${runId}/${layer}/${index}`. */
  readonly neuronRows: DataLoader<string, NeuronRows>;
  /** Key: `${runId}/${metric}`; the metric's values by sample id. */
  /** "runId/metric" -> the metric's values by sample ordinal (Store.readMetricAligned). */
  readonly metricValues: DataLoader<string, Float64Array>;
}

/** What the transport learns about one request's answer while it runs. */
export interface ResponseHints {
  /** The answer is a function of this done run's stored data alone (epoch: the read cache's, before that was checked). */
  keepable?: { runId: number; epoch: number };
}

/** The per-request context every resolver receives (`@Ctx()`). */
export interface GraphQLContext {
  readonly services: Services;
  readonly auth: RequestAuth;
  readonly loaders: Loaders;
  /** Aborts when the client goes away before the answer (HTTP connection closed): long jobs cancel on it. */
  readonly signal?: AbortSignal;
  /** Shared by reference: Apollo hands plugins and resolvers a shallow copy of the context. */
  readonly hints: ResponseHints;
}

/** A fresh context for one request (HTTP) or one operation (WebSocket). */
export function createContext(services: Services, auth: RequestAuth, signal?: AbortSignal): GraphQLContext {
  const { store } = services;
  // Each key resolves or fails on its own (an Error in the array fails only that key).
  const each = <K, T>(read: (key: K) => Promise<T>) => (keys: readonly K[]) => Promise.all(keys.map((key) => read(key).catch((e: Error) => e)));
  return {
    services,
    auth,
    signal,
    hints: {},
    loaders: {
      model: new DataLoader(each((id: number) => store.getModel(id))),
      task: new DataLoader(each((id: number) => store.getTask(id))),
      neuronRows: new DataLoader(each((key: string) => {
        const [runId, layer, index] = key.split("/").map(Number) as [number, number, number];
        return loadNeuronRows(store, runId, layer, index);
      })),
      metricValues: new DataLoader(each(async (key: string) => {
        const slash = key.indexOf("/");
        const runId = Number(key.slice(0, slash));
        const metric = key.slice(slash + 1);
        return (await store.readMetricAligned(runId, metric)).value;
      })),
    },
  };
}
