import { MetricError } from "./types.js";

export interface CounterexampleOptions {
  /** The label value the heuristic predicts when it fires (e.g. the entailment class). */
  readonly predicts: number;
  /** Only samples where the heuristic fires (value 1) and the label is not `predicts`. */
  readonly onlyWhenFired?: boolean;
}

/**
 * Indices of samples where a 0/1 heuristic and the label disagree: the heuristic fires and
 * the label is not `predicts`, or (unless onlyWhenFired) it does not fire and the label is
 * `predicts`. Samples with NaN in either vector are skipped.
 */
export function counterexampleIndices(
  heuristic: Float64Array,
  labels: Float64Array,
  options: CounterexampleOptions,
): Uint32Array {
  if (heuristic.length !== labels.length) {
    throw new MetricError(undefined, `heuristic has ${heuristic.length} samples and labels ${labels.length}: use vectors of the same run`);
  }
  const out: number[] = [];
  for (let i = 0; i < heuristic.length; i++) {
    const h = heuristic[i]!;
    const y = labels[i]!;
    if (Number.isNaN(h) || Number.isNaN(y)) continue;
    if (h !== 0 && h !== 1) {
      throw new MetricError(undefined, `heuristic value ${h} at sample ${i} is not 0 or 1: counterexamples need a 0/1 detector`);
    }
    const fired = h === 1;
    const agrees = fired === (y === options.predicts);
    if (!agrees && (fired || !options.onlyWhenFired)) out.push(i);
  }
  return Uint32Array.from(out);
}
