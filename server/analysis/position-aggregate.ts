/** Aggregates of per-position correlations over positions. */
import { AnalysisError } from "./errors.js";

/** Per neuron: the signed r at the position of largest |r|, and that position. */
export interface MaxAbsOverPositions {
  /** [F] signed r at argmax |r| (NaN if r is NaN at every position) */
  r: Float64Array;
  /** [F] position of max |r| (-1 if undefined everywhere); ties keep the lowest position */
  position: Int32Array;
}

/** r: [P, F] -> max |r| over positions per neuron, NaN positions skipped. */
export function maxAbsOverPositions(r: ArrayLike<number>, positions: number, neurons: number): MaxAbsOverPositions {
  if (r.length !== positions * neurons) {
    throw new AnalysisError("SHAPE_MISMATCH", `correlations have length ${r.length}, expected P*F = ${positions}*${neurons}`);
  }
  const best = new Float64Array(neurons).fill(Number.NaN);
  const bestAbs = new Float64Array(neurons).fill(-1);
  const pos = new Int32Array(neurons).fill(-1);
  for (let p = 0; p < positions; p++) {
    const row = p * neurons;
    for (let f = 0; f < neurons; f++) {
      const v = r[row + f];
      const a = Math.abs(v);
      if (a > bestAbs[f]) {
        bestAbs[f] = a;
        best[f] = v;
        pos[f] = p;
      }
    }
  }
  return { r: best, position: pos };
}
