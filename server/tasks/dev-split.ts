/**
 * The three samples sets of a run. train optimises the prompt; dev chooses it (validation loss,
 * early stopping, the kept prompt); val is extracted and correlated. Tasks that name a "dev"
 * split use it; older tasks (train and val only) get a dev set carved from train by a seeded hash
 * of the sample ids, so val, and every earlier run's analysed samples, stay as they were.
 */
import { seededHash } from "./splits.js";

/** Share of the train rows a task without "dev" rows gives to dev. */
export const DEV_FRACTION = 0.2;
/** Seed of the dev carve: fixed, so a task always gives the same dev set. */
export const DEV_SEED = 1;

export interface RunSplits<T> {
  train: T[];
  dev: T[];
  val: T[];
}

/**
 * Splits a task's samples for a run. With no "dev" rows, round(DEV_FRACTION * train) train rows
 * (at least 1 when train has 2 or more) become dev, chosen by hash rank, whatever the row order.
 */
export function runSplits<T extends { sampleId: string; split: string }>(samples: readonly T[]): RunSplits<T> {
  const of = (split: string) => samples.filter((s) => s.split === split);
  const [train, dev, val] = [of("train"), of("dev"), of("val")];
  if (dev.length > 0 || train.length < 2) return { train, dev, val };
  const n = Math.max(1, Math.round(DEV_FRACTION * train.length));
  const carved = new Set(
    train
      .map((s) => ({ id: s.sampleId, key: seededHash(s.sampleId, DEV_SEED) }))
      .sort((a, b) => a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, n)
      .map((s) => s.id),
  );
  return { train: train.filter((s) => !carved.has(s.sampleId)), dev: train.filter((s) => carved.has(s.sampleId)), val };
}
