/**
 * A real finished run for the dashboard's causal panel: the planted checkpoint (test/fixtures/planted,
 * neuron L0.N7 wired to the colour count) with a prompt trained by the real run manager, so the
 * ablation mutation can forward its validation set.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RunManager } from "../../../server/runs/run-manager.js";
import type { Store } from "../../../server/store/index.js";

export const PLANTED_DIR = fileURLToPath(new URL("../../../../test/fixtures/planted/", import.meta.url));

/** Trains and extracts a run on 40 + 40 rows of the planted task; resolves with its id once DONE. */
export async function trainPlantedRun(store: Store): Promise<number> {
  const rows = readFileSync(join(PLANTED_DIR, "task.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; text: string; label: number; colors: number; split: string });
  const taskId = await store.addTask({ name: "colours (planted)", source: "task.jsonl", template: "{text} question", verbalizer: { 0: "no", 1: "yes" } });
  const kept = rows.filter((r) => r.split === "train").slice(0, 40).concat(rows.filter((r) => r.split === "val").slice(0, 40));
  await store.addSamples(taskId, kept.map((r) => ({
    sampleId: r.id, split: r.split, fields: { text: r.text, colors: r.colors }, rendered: `${r.text} question`, answer: r.label ? "yes" : "no", label: String(r.label),
  })));
  const modelId = await store.addModel({ path: join(PLANTED_DIR, "model"), family: "gpt2", config: {} });
  const manager = new RunManager(store, { leaderboardIntervalMs: 0 });
  try {
    const run = await manager.start({ modelId, taskId, options: { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 3, seed: 1, threads: 1 } });
    await manager.whenIdle();
    const done = await store.getRun(run.id);
    if (done.status !== "done") throw new Error(`the planted run ended ${done.status}: ${String(done.error)}`);
    return run.id;
  } finally {
    await manager.close();
  }
}
