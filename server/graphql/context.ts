import DataLoader from "dataloader";
import type { RunManager } from "../runs/run-manager.js";
import type { ModelRecord, Store, TaskRecord } from "../store/index.js";
import type { Limits } from "./limits.js";
import type { LiveEvents } from "./live-events.js";

/** What the resolvers call. Built once per server; tests build it from real parts. */
export interface Services {
  /** The database (the only owner of DuckDB). */
  readonly store: Store;
  /** Queues, runs, cancels and resumes runs; its events feed `live`. */
  readonly runs: RunManager;
  readonly live: LiveEvents;
  readonly limits: Limits;
  /** Folders `registerModel` may read checkpoints from. */
  readonly modelRoots: readonly string[];
  /** Folders `importTask` may read task files from. */
  readonly taskRoots: readonly string[];
  /** Folder `exportRun` writes under (`<dataDir>/exports` by default). */
  readonly exportRoot: string;
  /** Package version, reported by `serverInfo`. */
  readonly version: string;
}

/** What the caller of one request may do (decided by the transport from token and address). */
export interface RequestAuth {
  /** Queries and subscriptions. */
  readonly canRead: boolean;
  /** Mutations: a valid bearer token was presented. */
  readonly canWrite: boolean;
}

/** Per-request caches: a page of runs that share a model reads it once. */
export interface Loaders {
  readonly model: DataLoader<number, ModelRecord>;
  readonly task: DataLoader<number, TaskRecord>;
}

/** The per-request context every resolver receives (`@Ctx()`). */
export interface GraphQLContext {
  readonly services: Services;
  readonly auth: RequestAuth;
  readonly loaders: Loaders;
  /** Aborts when the client goes away before the answer (HTTP connection closed): long jobs cancel on it. */
  readonly signal?: AbortSignal;
}

/** A fresh context for one request (HTTP) or one operation (WebSocket). */
export function createContext(services: Services, auth: RequestAuth, signal?: AbortSignal): GraphQLContext {
  const { store } = services;
  // Each key resolves or fails on its own (an Error in the array fails only that key).
  const each = <T>(read: (id: number) => Promise<T>) => (ids: readonly number[]) => Promise.all(ids.map((id) => read(id).catch((e: Error) => e)));
  return {
    services,
    auth,
    signal,
    loaders: {
      model: new DataLoader(each((id) => store.getModel(id))),
      task: new DataLoader(each((id) => store.getTask(id))),
    },
  };
}
