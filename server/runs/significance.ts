/**
 * Significance of a run's correlations for one metric: a seeded permutation null (shuffle the
 * metric, recompute r for every stored neuron) giving the chance level of |r| at this sample size,
 * the 99.9th percentile of the null max |r|, the Benjamini-Hochberg threshold and, per layer, the
 * null's expected r histogram (the band the r histograms are read against); and, one test per
 * neuron, Benjamini-Hochberg over each neuron's position-corrected p (the Sidak-corrected analytic p
 * of its best position, as stored in pCorrected). Computed from stored activations and cached per
 * (run, metric, permutations, seed, q).
 */
import {
  benjaminiHochberg,
  criticalAbsR,
  maxAbsOverPositions,
  NULL_HISTOGRAM_BINS,
  pearsonPValues,
  permutationNullInWorker,
  sidakCorrected,
  type PermutationNull,
} from "../analysis/index.js";
import { ServiceError } from "../errors.js";
import type { Store } from "../store/store.js";
import { requireFullActivations } from "./run-options.js";

export interface SignificanceOptions {
  permutations?: number;
  seed?: number;
  q?: number;
}

export interface Significance {
  metric: string;
  permutations: number;
  /** Samples with a defined metric value. */
  samples: number;
  /** Neurons x positions tested. */
  tests: number;
  /** 99.9th percentile of the pooled null |r|. */
  pooledAbsR999: number;
  /** 99.9th percentile of the null max |r| over every neuron (family-wise). */
  maxAbsR999: number;
  /** |r| at which the analytic two-sided p is 0.001 (Student t, N - 2 df). */
  analyticAbsR999: number;
  /** Smallest |r| declared significant by Benjamini-Hochberg at q (Infinity: none). */
  bhAbsRThreshold: number;
  q: number;
  /** (layer, position, neuron) tests significant under BH over the pooled permutation p. */
  discoveries: number;
  /** Neurons with a defined r (one test each, at its best position). */
  neuronTests: number;
  /** Neurons significant under BH at q over their position-corrected p. */
  neuronDiscoveries: number;
  /** Largest position-corrected p declared significant (0: none). */
  neuronPCorrectedThreshold: number;
  /** Per layer: observed r at every (position, neuron), for histograms against the null. */
  observed: { layer: number; r: Float64Array }[];
  /** Null |r| distribution (pooled counts over [0, 1]) for expected-count bands. */
  nullAbsCounts: Float64Array;
}

export const MAX_PERMUTATIONS = 1000;

export class SignificanceService {
  private readonly cache = new Map<string, Promise<Significance>>();

  constructor(private readonly store: Store) {}

  /** @throws ServiceError for bad options or a run without stored activations; StoreError for unknown runs or metrics. */
  compute(runId: number, metric: string, options: SignificanceOptions = {}): Promise<Significance> {
    const permutations = options.permutations ?? 200;
    const seed = options.seed ?? 0;
    const q = options.q ?? 0.05;
    if (!(Number.isInteger(permutations) && permutations >= 1 && permutations <= MAX_PERMUTATIONS)) throw new ServiceError("BAD_INPUT", `permutations must be an integer in 1..${MAX_PERMUTATIONS}`, { field: "permutations" });
    if (!(q > 0 && q < 1)) throw new ServiceError("BAD_INPUT", "q must lie strictly between 0 and 1", { field: "q" });
    const key = JSON.stringify([runId, metric, permutations, seed, q]);
    let hit = this.cache.get(key);
    if (!hit) {
      hit = this.run(runId, metric, permutations, seed, q);
      this.cache.set(key, hit);
      hit.catch(() => this.cache.delete(key));
    }
    return hit;
  }

  private async run(runId: number, metric: string, permutations: number, seed: number, q: number): Promise<Significance> {
    const run = await this.store.getRun(runId);
    const layers = run.layers ?? [];
    requireFullActivations(run, "a permutation null");
    if (run.status !== "done" || layers.length === 0) throw new ServiceError("BAD_STATE", `run ${runId} is ${run.status}: significance needs the stored activations of a finished run`);
    const values = await this.store.readMetricAligned(runId, metric);
    const first = await this.store.readActivations(runId, layers[0]);
    // only samples where the metric is defined take part
    const keep = Array.from(first.sampleIdx).map((s, row) => ({ s, row })).filter(({ s }) => Number.isFinite(values.value[s]));
    const y = Float64Array.from(keep, ({ s }) => values.value[s]);
    const { positions, dFF } = first;
    const cols = positions * dFF;
    const select = (data: Float32Array): Float32Array => {
      if (keep.length === data.length / cols) return data;
      const out = new Float32Array(keep.length * cols);
      keep.forEach(({ row }, i) => out.set(data.subarray(row * cols, (row + 1) * cols), i * cols));
      return out;
    };
    // on a worker thread: the null over every stored neuron takes seconds, the event loop must not wait
    const nul: PermutationNull = await permutationNullInWorker({
      metric: y, layers: layers.length, positions, neurons: dFF, permutations, seed, q,
      activations: async (i) => select(i === 0 ? first.data : (await this.store.readActivations(runId, layers[i])).data),
    });
    const pCorrected = nul.observed.flatMap((r) => Array.from(pearsonPValues(maxAbsOverPositions(r, positions, dFF).r, y.length), (p) => sidakCorrected(p, positions)));
    const neuronBh = benjaminiHochberg(pCorrected, q);
    return {
      metric, permutations, samples: y.length, tests: layers.length * cols,
      neuronTests: neuronBh.tests, neuronDiscoveries: neuronBh.discoveries, neuronPCorrectedThreshold: neuronBh.pThreshold,
      pooledAbsR999: nul.pooledAbsR999, maxAbsR999: nul.maxAbsR999, analyticAbsR999: criticalAbsR(0.001, y.length),
      bhAbsRThreshold: nul.bh.absRThreshold, q, discoveries: nul.bh.discoveries,
      observed: layers.map((layer, i) => ({ layer, r: nul.observed[i] })),
      nullAbsCounts: nul.nullAbsCounts,
    };
  }
}

/**
 * Expected null counts in equal bins of r over [-1, 1] for `tests` values: the pooled |r| null,
 * split evenly between +r and -r (the shuffled-metric null is symmetric).
 */
export function nullBand(nullAbsCounts: Float64Array, bins: number, tests: number): number[] {
  const total = nullAbsCounts.reduce((a, b) => a + b, 0);
  const out = new Array<number>(bins).fill(0);
  const width = 2 / bins;
  nullAbsCounts.forEach((c, k) => {
    if (c === 0) return;
    const mid = (k + 0.5) / NULL_HISTOGRAM_BINS;
    for (const r of [mid, -mid]) out[Math.min(bins - 1, Math.floor((r + 1) / width))] += (c / total) * (tests / 2);
  });
  return out;
}
