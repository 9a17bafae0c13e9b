import { LRUCache } from "lru-cache";
import type { RunRecord } from "../store/run-state.js";
import type { Store } from "../store/store.js";

/** Bytes of cached reads kept by default (least recently used go first). */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * Store reads that are kept for a done run, by method name. A task's sample rows never change once
 * the task is imported (`listSamples` is keyed by task).
 */
const RUN_READS = ["readSampleOutputs", "readNeuron", "readMetricAligned", "listMetrics", "queryScores", "neuronScore", "getReservoir"] as const;
/** Store writes that change what a run's reads return: each invalidates the run once it settles. */
const RUN_WRITES = [
  "setRunStatus",
  "updateRun",
  "deleteRun",
  "writeSampleOutputs",
  "writeMetric",
  "writeScores",
  "deleteScores",
  "ingestActivations",
  "putReservoir",
] as const;

/**
 * Reads of finished runs, shared between requests. A run whose status is "done" changes only
 * through addMetric, deleteRun or a rescore, and each of those writes through `store` (the cached
 * view below), which invalidates the run once the write is committed; so a read of a done run (a
 * scores page, a neuron's rows, a metric table, a histogram, a significance null, a whole response)
 * may be kept, keyed by run, kind and arguments. Reads of runs in any other state pass through.
 *
 * A read that was in flight when its run was invalidated is never kept: every fill checks that no
 * invalidation happened since it started (`epoch`). Kept values are frozen (typed arrays aside):
 * every request shares them.
 */
export class RunReadCache {
  /** The store with the reads above kept for done runs and the writes above invalidating. */
  readonly store: Store;
  private readonly values: LRUCache<string, { value: unknown }>;
  /** Reads in flight, shared by concurrent callers; they move to `values` when they settle. */
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly finished = new Map<number, RunRecord>();
  private readonly listeners: ((runId: number) => void)[] = [];
  private invalidations = 0;

  constructor(
    private readonly raw: Store,
    maxBytes = DEFAULT_CACHE_BYTES,
  ) {
    this.values = new LRUCache({ maxSize: maxBytes, sizeCalculation: (entry) => Math.max(1, approximateBytes(entry.value)) });
    this.store = this.cachedView();
  }

  /** Counts invalidations: a value computed across a change of epoch may be stale. */
  get epoch(): number {
    return this.invalidations;
  }

  /** The run's record (StoreError NOT_FOUND when there is none); kept once the run is done. */
  async run(runId: number): Promise<RunRecord> {
    const kept = this.finished.get(runId);
    if (kept) return kept;
    const epoch = this.invalidations;
    const run = await this.raw.getRun(runId);
    if (run.status === "done" && epoch === this.invalidations) this.finished.set(runId, deepFreeze(run));
    return run;
  }

  /**
   * Keeps the records of every run that is done now, as `run` would once asked, and the metric
   * lists of the newest `metricLists` of them: a server's first request on a finished run then
   * waits for no record, and its metric check reads nothing beside the page. Keeps nothing if a run
   * changed meanwhile (the metric lists are ordinary reads: kept as `read` keeps them).
   */
  async keepDoneRuns(metricLists = 32): Promise<void> {
    const epoch = this.invalidations;
    const done = (await this.raw.listRuns()).filter((run) => run.status === "done");
    if (epoch !== this.invalidations) return;
    for (const run of done) if (!this.finished.has(run.id)) this.finished.set(run.id, deepFreeze(run));
    // a list that fails to read here is read again (and its error reported) when a request asks for it
    for (const run of done.slice(-metricLists)) await this.store.listMetrics(run.id).catch(() => undefined);
  }

  /**
   * `compute()` once per (run, kind, args) while the run is done; every time otherwise. `args`
   * must be JSON-serialisable and determine the result together with the run's stored data.
   */
  async read<T>(runId: number, kind: string, args: unknown, compute: () => Promise<T>): Promise<T> {
    if ((await this.run(runId)).status !== "done") return compute();
    return this.fill(runKey(runId, kind, args), compute);
  }

  /** Keeps a value computed elsewhere (a serialised response) unless the run changed since `epoch`. */
  put(runId: number, kind: string, args: unknown, value: unknown, epoch: number): void {
    if (epoch !== this.invalidations || !this.finished.has(runId)) return;
    this.values.set(runKey(runId, kind, args), { value });
  }

  /** A value kept by `read` or `put`, without computing anything. */
  peek<T>(runId: number, kind: string, args: unknown): T | undefined {
    return this.values.get(runKey(runId, kind, args))?.value as T | undefined;
  }

  /** Forgets everything kept about the run. Writes through `store` call it; call it after writing elsewhere. */
  invalidate(runId: number): void {
    this.invalidations++;
    this.finished.delete(runId);
    const prefix = `${runId}\u0000`;
    for (const key of [...this.values.keys()]) if (key.startsWith(prefix)) this.values.delete(key);
    for (const key of [...this.pending.keys()]) if (key.startsWith(prefix)) this.pending.delete(key);
    for (const listener of this.listeners) listener(runId);
  }

  /** Calls `listener` after each invalidation (for caches that keep derived values elsewhere). */
  onInvalidate(listener: (runId: number) => void): void {
    this.listeners.push(listener);
  }

  private async fill<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const hit = this.values.get(key);
    if (hit) return hit.value as T;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const epoch = this.invalidations;
    const promise = compute().then(deepFreeze);
    this.pending.set(key, promise);
    try {
      const value = await promise;
      if (epoch === this.invalidations) this.values.set(key, { value });
      return value;
    } finally {
      if (this.pending.get(key) === promise) this.pending.delete(key);
    }
  }

  private cachedView(): Store {
    const raw = this.raw;
    const overrides = new Map<PropertyKey, unknown>();
    overrides.set("getRun", (runId: number) => this.run(runId));
    overrides.set("listSamples", (taskId: number, split?: string) => this.fill(`task:${taskId}\u0000${split ?? ""}`, () => raw.listSamples(taskId, split)));
    for (const name of RUN_READS) {
      const method = (raw[name] as (...args: unknown[]) => Promise<unknown>).bind(raw);
      overrides.set(name, (runId: number, ...args: unknown[]) => this.read(runId, name, args, () => method(runId, ...args)));
    }
    for (const name of RUN_WRITES) {
      const method = (raw[name] as (...args: unknown[]) => Promise<unknown>).bind(raw);
      overrides.set(name, async (runId: number, ...args: unknown[]) => {
        try {
          return await method(runId, ...args);
        } finally {
          // a run that was never read as done has nothing kept
          if (this.finished.has(runId)) this.invalidate(runId);
        }
      });
    }
    return new Proxy(raw, {
      get(target, property) {
        if (overrides.has(property)) return overrides.get(property);
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }
}

function runKey(runId: number, kind: string, args: unknown): string {
  return `${runId}\u0000${kind}\u0000${JSON.stringify(args)}`;
}

/** Freezes plain objects and arrays all the way down; typed arrays cannot be frozen and are left as they are. */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return value;
  }
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}

/** A rough size of a kept value: typed arrays by their bytes, strings by length, objects by their parts. */
export function approximateBytes(value: unknown, depth = 0): number {
  if (value === null || value === undefined) return 8;
  switch (typeof value) {
    case "string":
      return 16 + 2 * value.length;
    case "object":
      break;
    default:
      return 8;
  }
  if (ArrayBuffer.isView(value)) return 64 + value.byteLength;
  if (depth > 8) return 64;
  let bytes = 32;
  if (value instanceof Map) {
    for (const [k, v] of value) bytes += approximateBytes(k, depth + 1) + approximateBytes(v, depth + 1);
  } else {
    for (const [k, v] of Object.entries(value)) bytes += 8 + 2 * k.length + approximateBytes(v, depth + 1);
  }
  return bytes;
}
