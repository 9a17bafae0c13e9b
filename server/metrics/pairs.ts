import { MetricError } from "./types.js";

/** One value for one sample, as a user gives it after the run. */
export interface SampleValue {
  readonly id: string;
  readonly value: number;
}

/**
 * A metric vector over `sampleIds` (run order) from (sample id, value) pairs; NaN for samples
 * not given. `name` only labels errors.
 * @throws MetricError for an unknown or repeated id, or a non-finite value.
 */
export function metricFromPairs(sampleIds: readonly string[], pairs: Iterable<SampleValue>, name?: string): Float64Array {
  const index = new Map<string, number>();
  sampleIds.forEach((id, i) => {
    if (index.has(id)) throw new MetricError(name, `run sample id "${id}" appears twice: sample ids must be unique`);
    index.set(id, i);
  });
  const out = new Float64Array(sampleIds.length).fill(Number.NaN);
  const given = new Uint8Array(sampleIds.length);
  let n = 0;
  for (const { id, value } of pairs) {
    n++;
    const i = index.get(id);
    if (i === undefined) {
      throw new MetricError(name, `pair ${n}: sample id "${id}" is not a validation sample of this run: check the ids`);
    }
    if (given[i]) throw new MetricError(name, `pair ${n}: sample id "${id}" is given twice: give one value per sample`);
    if (!Number.isFinite(value)) {
      throw new MetricError(name, `pair ${n}: value for "${id}" is ${value}: give a finite number, or leave the sample out to mark it missing`);
    }
    given[i] = 1;
    out[i] = value;
  }
  return out;
}
