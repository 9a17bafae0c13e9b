/**
 * The engine's heavy calls on worker threads, off the caller's event loop:
 * - scoreMetricInWorkers: Pearson r of a metric with every (layer, position, neuron), the neurons
 *   split into contiguous ranges (a few per worker, taken in turn by whichever worker is free), all
 *   workers reading the same shared activations;
 * - permutationNullInWorker: the permutation null on one worker, layers handed over one at a time.
 * Each returns what the single-threaded function returns for the same input.
 */
import type { AfterTheFactScores, NeuronRange } from "./after-the-fact.js";
import type { AnalysisJob } from "./analysis-worker.js";
import { AnalysisError } from "./errors.js";
import type { PermutationNull, PermutationNullOptions } from "./permutation-null.js";
import { analysisWorkers, type AnalysisWorkerPool } from "./worker-pool.js";

/** A part is at least this many neurons: smaller parts cost more in messages than they save. */
const MIN_NEURONS_PER_PART = 64;
/**
 * Parts per worker. More parts than workers balance the load: a worker that gets less CPU (other
 * processes, a busy core) takes fewer parts, where one part per worker would wait for the slowest.
 */
const PARTS_PER_WORKER = 4;

/** A copy in shared memory, unless it already is there (the workers read it without copying). */
export function shared(values: Float32Array): Float32Array {
  if (values.buffer instanceof SharedArrayBuffer) return values;
  const out = new Float32Array(new SharedArrayBuffer(values.byteLength));
  out.set(values);
  return out;
}

/**
 * scoreMetricFromActivations (same arguments, same result) with the neurons split over the pool's
 * workers. Activations not already in a SharedArrayBuffer are copied there once.
 */
export async function scoreMetricInWorkers(
  acts: Float32Array[], metricValues: Float64Array, positions: number, neurons: number, pool: AnalysisWorkerPool = analysisWorkers(),
): Promise<AfterTheFactScores> {
  const parts = Math.max(1, Math.min(pool.size * PARTS_PER_WORKER, Math.floor(neurons / MIN_NEURONS_PER_PART)));
  const ranges: NeuronRange[] = Array.from({ length: parts }, (_, i) => ({ from: Math.floor((i * neurons) / parts), to: Math.floor(((i + 1) * neurons) / parts) }));
  const sharedActs = acts.map(shared);
  const results = await Promise.all(
    ranges.map((range) => pool.run<AfterTheFactScores>({ kind: "scores", acts: sharedActs, metricValues, positions, neurons, range } satisfies AnalysisJob)),
  );
  const r = acts.map(() => new Float64Array(positions * neurons));
  const rMaxActivation = acts.map(() => new Float64Array(neurons));
  results.forEach((part, i) => {
    const { from, to } = ranges[i]!;
    const width = to - from;
    for (let l = 0; l < acts.length; l++) {
      for (let p = 0; p < positions; p++) r[l]!.set(part.r[l]!.subarray(p * width, (p + 1) * width), p * neurons + from);
      rMaxActivation[l]!.set(part.rMaxActivation[l]!, from);
    }
  });
  const samples = results[0]?.samples;
  if (samples === undefined) throw new AnalysisError("BAD_ARGUMENT", "no neurons to score");
  return { samples, r, rMaxActivation };
}

/**
 * permutationNull (same options, same result) on a worker thread: the caller's event loop stays
 * free for the whole computation; `activations` is called (or indexed) once per layer, in order,
 * when the worker needs that layer.
 */
export function permutationNullInWorker(options: PermutationNullOptions, pool: AnalysisWorkerPool = analysisWorkers()): Promise<PermutationNull> {
  const { activations, ...rest } = options;
  const layer = (i: number) => (Array.isArray(activations) ? activations[i]! : (activations as (layer: number) => Float32Array | Promise<Float32Array>)(i));
  return pool.run<PermutationNull>({ kind: "permutationNull", options: rest } satisfies AnalysisJob, async (request) => layer((request as { layer: number }).layer));
}
