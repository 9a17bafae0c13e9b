/**
 * Queue runners as separate processes (`skillscope runner --queue URL`) for the work-queue tests,
 * and the comparison of two runs' stored results that those tests share.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ReservoirSet } from "../../../server/analysis/index.js";
import { decodeReservoirs } from "../../../server/runs/reservoir-codec.js";
import type { ScoreAgg } from "../../../server/store/scores.js";
import type { Store } from "../../../server/store/store.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const CLI = fileURLToPath(new URL("../../../clients/cli/main.js", import.meta.url));
export const PLANTED_MODEL = join(root, "test/fixtures/planted/model");

export interface RunnerProcess {
  readonly child: ChildProcess;
  log(): string;
  /** Resolves when the runner's stderr matches. */
  until(pattern: RegExp): Promise<void>;
}

/** Starts a runner on the planted model; resolves once it takes jobs. Every child goes into `children` until it exits. */
export function startRunner(url: string, name: string, leaseMs: number, children: Set<ChildProcess>): Promise<RunnerProcess> {
  const child = spawn(process.execPath, [CLI, "runner", "--queue", url, "--model", PLANTED_MODEL, "--threads", "1", "--lease-ms", String(leaseMs)], { stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let err = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stderr!.on("data", (d: Buffer) => {
    err += String(d);
    for (const w of [...waiters]) if (w.pattern.test(err)) w.resolve();
  });
  const proc: RunnerProcess = {
    child,
    log: () => err,
    until: (pattern) => new Promise((resolve, reject) => {
      if (pattern.test(err)) return resolve();
      waiters.push({ pattern, resolve });
      child.once("exit", (code) => reject(new Error(`runner ${name} exited (${code}) before ${pattern}: ${err}`)));
    }),
  };
  return proc.until(/taking shard jobs/).then(() => proc);
}

/** SIGTERMs every child and waits for it to exit. */
export async function stopAll(children: Set<ChildProcess>): Promise<void> {
  await Promise.all([...children].map((c) => new Promise((resolve) => {
    c.once("exit", resolve);
    c.kill("SIGTERM");
  })));
}

/** Every stored score of a run: metric/agg/neuron@position -> r. */
export async function allScores(store: Store, runId: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await store.listMetrics(runId)) {
    for (const agg of ["position", "max_abs_r", "max_act"] as ScoreAgg[]) {
      const page = await store.queryScores(runId, { metric: m.name, agg, first: 1000 });
      assert.equal(page.hasNextPage, false);
      for (const s of page.rows) out.set(`${m.name}/${agg}/L${s.layer}.N${s.neuron}@${s.position}`, s.r);
    }
  }
  return out;
}

/**
 * Run `got` has what run `want` has (the planted model: one layer, 64 neurons): every score within
 * 1e-9, each val sample's output once and in the same order, the same reservoir extremes.
 */
export async function assertSameResults(store: Store, got: number, want: number): Promise<void> {
  const [ref, scores] = [await allScores(store, want), await allScores(store, got)];
  assert.ok(ref.size > 0);
  assert.equal(scores.size, ref.size);
  let worst = 0;
  for (const [k, r] of ref) worst = Math.max(worst, Math.abs(scores.get(k)! - r));
  assert.ok(worst < 1e-9, `largest |r| difference ${worst}`);
  const [refOut, out] = [await store.readSampleOutputs(want), await store.readSampleOutputs(got)];
  assert.deepEqual(Array.from(out.sampleIdx), Array.from(refOut.sampleIdx), "each sample counted once");
  const [ra, rb] = await Promise.all([want, got].map(async (r) => ReservoirSet.fromSnapshot(decodeReservoirs((await store.getReservoir(r, 0))!))));
  for (let neuron = 0; neuron < 64; neuron++) {
    assert.deepEqual(rb.extremes(0, "max", neuron), ra.extremes(0, "max", neuron));
    assert.deepEqual(rb.extremes(0, 0, neuron), ra.extremes(0, 0, neuron));
  }
}
