/**
 * The analysis worker thread (see worker-pool.ts): runs one job at a time with the same engine
 * functions the main thread would call, and answers with their result or their error.
 */
import { parentPort } from "node:worker_threads";
import { scoreMetricFromActivations, type NeuronRange } from "./after-the-fact.js";
import { permutationNull, type PermutationNullOptions } from "./permutation-null.js";
import type { WorkerErrorFields } from "./worker-pool.js";

/** Jobs the worker runs. */
export type AnalysisJob =
  | { kind: "scores"; acts: Float32Array[]; metricValues: Float64Array; positions: number; neurons: number; range: NeuronRange }
  | { kind: "permutationNull"; options: Omit<PermutationNullOptions, "activations"> };

type Incoming = { type: "job"; job: AnalysisJob } | { type: "response"; id: number; value?: unknown; error?: WorkerErrorFields };

const port = parentPort!;
const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextRequest = 0;

/** Asks the thread that posted the job for data. */
function request<T>(payload: unknown): Promise<T> {
  const id = nextRequest++;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
    port.postMessage({ type: "request", id, request: payload });
  });
}

async function run(job: AnalysisJob): Promise<unknown> {
  switch (job.kind) {
    case "scores":
      return scoreMetricFromActivations(job.acts, job.metricValues, job.positions, job.neurons, job.range);
    case "permutationNull":
      return permutationNull({ ...job.options, activations: (layer) => request<Float32Array>({ layer }) });
  }
}

port.on("message", (message: Incoming) => {
  if (message.type === "response") {
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error) pending?.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
    else pending?.resolve(message.value);
    return;
  }
  run(message.job).then(
    (value) => port.postMessage({ type: "result", value }),
    (error: Error & { code?: string }) => port.postMessage({ type: "error", error: { name: error.name, message: error.message, code: error.code } }),
  );
});
