/**
 * A process-wide pool of analysis worker threads (analysis-worker.ts): one job per worker at a
 * time, jobs queue when all are busy. A worker may ask the caller for data while it runs (the
 * permutation null asks for one layer at a time). Workers hold the process open only while they
 * have a job; one that dies fails its job and is replaced.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { AnalysisError } from "./errors.js";

/** What a job may ask for while it runs, and how the caller answers. */
export type DataRequestHandler = (request: unknown) => Promise<unknown>;

/** Error fields that cross the thread boundary. */
export interface WorkerErrorFields {
  name: string;
  message: string;
  code?: string;
}

interface QueuedJob {
  job: unknown;
  onRequest?: DataRequestHandler;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Messages from a worker. */
export type WorkerMessage =
  | { type: "result"; value: unknown }
  | { type: "error"; error: WorkerErrorFields }
  | { type: "request"; id: number; request: unknown };

const WORKER_URL = new URL("./analysis-worker.js", import.meta.url);

export class AnalysisWorkerPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, QueuedJob>();
  private readonly queue: QueuedJob[] = [];
  private started = 0;

  constructor(readonly size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new AnalysisError("BAD_ARGUMENT", `worker pool size must be a positive integer, got ${size}`);
  }

  /** Runs one job on a worker; `onRequest` answers the data requests it sends meanwhile. */
  run<T>(job: unknown, onRequest?: DataRequestHandler): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job, onRequest, resolve: resolve as (value: unknown) => void, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.started < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const next = this.queue.shift()!;
      this.busy.set(worker, next);
      worker.ref();
      worker.postMessage({ type: "job", job: next.job });
    }
  }

  private spawn(): Worker {
    this.started++;
    const worker = new Worker(WORKER_URL);
    worker.on("message", (message: WorkerMessage) => this.onMessage(worker, message));
    worker.on("error", (error) => this.retire(worker, error));
    worker.on("exit", (code) => this.retire(worker, new Error(`analysis worker exited with code ${code}`)));
    return worker;
  }

  private onMessage(worker: Worker, message: WorkerMessage): void {
    const current = this.busy.get(worker);
    if (!current) return;
    if (message.type === "request") {
      const answer = current.onRequest
        ? current.onRequest(message.request)
        : Promise.reject(new Error("this job takes no data requests"));
      answer.then(
        (value) => worker.postMessage({ type: "response", id: message.id, value }),
        (error: Error) => worker.postMessage({ type: "response", id: message.id, error: { name: error.name, message: error.message } }),
      );
      return;
    }
    this.busy.delete(worker);
    worker.unref();
    this.idle.push(worker);
    if (message.type === "result") current.resolve(message.value);
    else current.reject(revive(message.error));
    this.dispatch();
  }

  /** A worker that failed or exited: its job fails, a new worker takes its place on demand. */
  private retire(worker: Worker, error: Error): void {
    const index = this.idle.indexOf(worker);
    if (index >= 0) this.idle.splice(index, 1);
    const current = this.busy.get(worker);
    if (!current && index < 0) return;
    this.busy.delete(worker);
    this.started--;
    current?.reject(error);
    this.dispatch();
  }
}

/** Rebuilds a worker's error as the type the callers map (AnalysisError, RangeError) or a plain Error. */
export function revive(fields: WorkerErrorFields): Error {
  if (fields.name === "AnalysisError") return new AnalysisError(fields.code ?? "WORKER", fields.message);
  if (fields.name === "RangeError") return new RangeError(fields.message);
  const error = new Error(fields.message);
  error.name = fields.name;
  return error;
}

let shared: AnalysisWorkerPool | undefined;

/** The process's pool, one worker per core the process may use. */
export function analysisWorkers(): AnalysisWorkerPool {
  return (shared ??= new AnalysisWorkerPool(availableParallelism()));
}
