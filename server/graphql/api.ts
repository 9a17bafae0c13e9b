/**
 * The API over a store and a run manager: live events bridged from the runs, the services the
 * resolvers call, and the executable schema. The HTTP server and the CLI's embedded mode both
 * build it here, so they serve the same API.
 */
import type { GraphQLSchema } from "graphql";
import type { RunManager } from "../runs/run-manager.js";
import type { Store } from "../store/store.js";
import type { LlmConfig } from "../explain/llm.js";
import type { Services } from "./context.js";
import type { Limits } from "./limits.js";
import { bridgeRunEvents } from "./live-bridge.js";
import { LiveEvents } from "./live-events.js";
import { storeLoaders } from "./live-loaders.js";
import { RunReadCache } from "./run-cache.js";
import { buildApiSchema } from "./schema.js";

export interface ApiOptions {
  limits: Limits;
  modelRoots?: readonly string[];
  taskRoots?: readonly string[];
  exportRoot: string;
  version: string;
  /** Bytes of finished runs' reads kept in memory (DEFAULT_CACHE_BYTES by default). */
  cacheBytes?: number;
  /** An OpenAI-compatible LLM for explainNeurons(llm: true); none: nothing is ever sent. */
  llm?: LlmConfig;
}

export interface Api {
  services: Services;
  schema: GraphQLSchema;
  /** Stops forwarding run events to the live bus. */
  unbridge(): void;
}

export async function buildApi(store: Store, runs: RunManager, options: ApiOptions): Promise<Api> {
  const live = new LiveEvents(storeLoaders(store, runs));
  const unbridge = bridgeRunEvents(runs, live);
  const reads = new RunReadCache(store, options.cacheBytes);
  const services: Services = {
    store: reads.store,
    reads,
    runs,
    live,
    limits: options.limits,
    modelRoots: options.modelRoots ?? [],
    taskRoots: options.taskRoots ?? [],
    exportRoot: options.exportRoot,
    version: options.version,
    llm: options.llm,
  };
  try {
    return { services, schema: await buildApiSchema(live), unbridge };
  } catch (e) {
    unbridge();
    throw e;
  }
}
