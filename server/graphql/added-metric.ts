import { metricFromPairs, type SampleValue } from "../metrics/index.js";
import { requireFullActivations } from "../runs/run-options.js";
import { scoreBatches, scoreFromStoredActivations } from "../runs/scoring.js";
import { ANALYSIS_SPLIT } from "../store/records.js";
import type { Store } from "../store/store.js";
import { ApiError } from "./errors.js";

/**
 * Adds a metric to a finished run from (sample id, value) pairs and scores every stored neuron
 * against it from the stored activations: r per position, max |r| over positions, and r of the
 * max-over-positions activation, with analytic p-values. Everything is computed (and validated)
 * before anything is written. Returns the number of samples with a value.
 */
export async function addMetric(store: Store, runId: number, name: string, pairs: readonly SampleValue[], description?: string): Promise<number> {
  if (name.length === 0) throw new ApiError("BAD_USER_INPUT", "name: the metric needs a name", { field: "name" });
  const run = await store.getRun(runId);
  if (run.status !== "done") {
    throw new ApiError("CONFLICT", `run ${runId} is ${run.status}; metrics can be added once its extraction is done`, { status: run.status });
  }
  requireFullActivations(run, "adding a metric");
  if ((await store.listMetrics(runId)).some((m) => m.name === name)) {
    throw new ApiError("CONFLICT", `run ${runId} already has a metric "${name}"; choose another name`, { field: "name" });
  }
  // index i = the sample with ordinal i, the key of the stored activations (NaN: no value given)
  const analysed = await store.listSamples(run.taskId, ANALYSIS_SPLIT);
  const sampleIds = analysed.map((s) => s.sampleId);
  const values = metricFromPairs(sampleIds, pairs, name);
  const layers = await scoreFromStoredActivations(store, runId, name, values, run.layers ?? []);
  const samples = layers.at(-1)?.samples ?? 0;
  const batches = layers.flatMap((c) => scoreBatches(name, c));
  await store.writeMetric(runId, { name, kind: "added", description, sampleId: sampleIds, value: values });
  await store.writeScores(runId, batches);
  return samples;
}
