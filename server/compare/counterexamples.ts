/**
 * Counterexample sets of a heuristic: the model's accuracy where a 0/1 heuristic metric and the
 * label disagree (counterexamples to the heuristic) versus where they agree. A model that leans on
 * the heuristic does well on the agreeing subset and badly on the other.
 */
import { ServiceError } from "../errors.js";
import { counterexampleIndices } from "../metrics/counterexamples.js";
import type { Store } from "../store/store.js";

export interface CounterexampleOptions {
  /** 0/1 heuristic metric of the run (e.g. a HANS lexical-overlap detector). */
  heuristic: string;
  /** Label metric (default "label"). */
  label?: string;
  /** Label value the heuristic predicts when it fires. */
  predicts: number;
  /** Only count samples where the heuristic fires. */
  onlyWhenFired?: boolean;
}

export interface SubsetAccuracy {
  count: number;
  /** Fraction correct (NaN for an empty subset). */
  accuracy: number;
  sampleIds: string[];
}

export interface CounterexampleReport {
  runId: number;
  heuristic: string;
  label: string;
  /** Heuristic and label disagree. */
  disagree: SubsetAccuracy;
  /** Heuristic and label agree (the complement among samples with both values). */
  agree: SubsetAccuracy;
}

export async function counterexampleAccuracy(store: Store, runId: number, options: CounterexampleOptions): Promise<CounterexampleReport> {
  const labelName = options.label ?? "label";
  if (!Number.isFinite(options.predicts)) throw new ServiceError("BAD_INPUT", "counterexamples predicts must be a number (the label value the heuristic predicts)");
  const outputs = await store.readSampleOutputs(runId);
  if (outputs.sampleId.length === 0) throw new ServiceError("BAD_STATE", `run ${runId} has no sample outputs yet: wait until it has extracted`);
  // metric values by sample ordinal, read for each output row through its ordinal
  const read = async (name: string) => {
    const m = await store.readMetricAligned(runId, name).catch((e: Error) => {
      throw new ServiceError("NOT_FOUND", `counterexamples: ${e.message}`, { cause: e });
    });
    return Float64Array.from(outputs.sampleIdx, (idx) => m.value[idx] ?? Number.NaN);
  };
  const h = await read(options.heuristic);
  const y = await read(labelName);
  let idx: Uint32Array;
  try {
    idx = counterexampleIndices(h, y, { predicts: options.predicts, onlyWhenFired: options.onlyWhenFired });
  } catch (e) {
    throw new ServiceError("BAD_INPUT", `counterexamples: ${(e as Error).message}`, { cause: e });
  }
  const disagreeSet = new Set(idx);
  const agreeIdx: number[] = [];
  for (let i = 0; i < h.length; i++) {
    if (disagreeSet.has(i) || Number.isNaN(h[i]!) || Number.isNaN(y[i]!)) continue;
    if (options.onlyWhenFired && h[i] !== 1) continue;
    agreeIdx.push(i);
  }
  const subset = (ix: ArrayLike<number>): SubsetAccuracy => {
    let correct = 0;
    const ids: string[] = [];
    for (let j = 0; j < ix.length; j++) {
      correct += outputs.correct[ix[j]!]!;
      ids.push(outputs.sampleId[ix[j]!]!);
    }
    return { count: ix.length, accuracy: ix.length ? correct / ix.length : Number.NaN, sampleIds: ids };
  };
  return { runId, heuristic: options.heuristic, label: labelName, disagree: subset(idx), agree: subset(agreeIdx) };
}
