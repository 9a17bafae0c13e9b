/** Extremal samples of one neuron from full activations. */
import { AnalysisError, expectInt } from "./errors.js";
import { TopKHeap } from "./top-k.js";

export interface ExtremalSamples {
  /** Best first: highest activations, descending; ties by sample index ascending. */
  highest: { sample: number; value: number }[];
  /** Lowest activations, ascending; ties by sample index ascending. */
  lowest: { sample: number; value: number }[];
}

/**
 * k highest and k lowest activations of `neuron` over acts [N, P, F], either at `position` or of the
 * max over positions ("max"). sampleIds[i] names row i (default: i).
 */
export function extremalSamples(
  acts: Float32Array, positions: number, neurons: number, neuron: number, position: number | "max", k: number,
  sampleIds?: ArrayLike<number>,
): ExtremalSamples {
  const cols = positions * neurons;
  if (acts.length % cols !== 0) throw new AnalysisError("SHAPE_MISMATCH", `activations have length ${acts.length}, not a multiple of P*F = ${cols}`);
  const n = acts.length / cols;
  expectInt("neuron", neuron, 0, neurons - 1);
  if (position !== "max") expectInt("position", position, 0, positions - 1);
  expectInt("k", k, 0);
  if (sampleIds && sampleIds.length !== n) throw new AnalysisError("SHAPE_MISMATCH", `sampleIds has length ${sampleIds.length}, expected N = ${n}`);
  const hi = new TopKHeap(Math.min(k, n));
  const lo = new TopKHeap(Math.min(k, n));
  for (let s = 0; s < n; s++) {
    let v: number;
    if (position === "max") {
      v = -Infinity;
      for (let p = 0; p < positions; p++) v = Math.max(v, acts[s * cols + p * neurons + neuron]);
    } else {
      v = acts[s * cols + position * neurons + neuron];
    }
    if (Number.isNaN(v)) throw new AnalysisError("NON_FINITE", `activation of sample row ${s}, neuron ${neuron} is NaN`);
    const id = sampleIds ? sampleIds[s] : s;
    hi.push(v, id);
    lo.push(-v, id);
  }
  return {
    highest: hi.sorted().map(({ key, id }) => ({ sample: id, value: key })),
    lowest: lo.sorted().map(({ key, id }) => ({ sample: id, value: -key })),
  };
}
