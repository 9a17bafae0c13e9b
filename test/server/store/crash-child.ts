/*
 * Child process for crash.test.ts: ingests activation batches forever into the database given as
 * argv[2], reporting each committed batch to the parent, until the parent SIGKILLs it.
 * With argv[3] = 'open' it only tries to open the file. Without arguments (e.g. picked up by a test glob) it does nothing.
 */
import { Store } from "../../../server/store/index.js";
import { pattern } from "./helpers.js";

export const CHILD_SHAPE = { samplesPerBatch: 32, positions: 4, dFF: 2048 };

async function main(path: string): Promise<void> {
  const store = await Store.open(path);
  const modelId = await store.addModel({ path: "/m", family: "gpt2", config: {} });
  const taskId = await store.addTask({ name: "t", source: "/t.jsonl", template: "{x}", verbalizer: null });
  const runId = await store.createRun({ modelId, taskId, config: {} });
  await store.setRunStatus(runId, "extracting");
  process.send!({ runId });
  const { samplesPerBatch: b, positions, dFF } = CHILD_SHAPE;
  for (let k = 0; ; k++) {
    const sampleIdx = Int32Array.from({ length: b }, (_, i) => k * b + i);
    await store.ingestActivations(runId, { shard: 0, batchId: `b${k}`, layer: 0, sampleIdx, nPositions: positions, dFF, data: pattern(b * positions * dFF, k + 1) });
    process.send!({ committed: k });
  }
}

/** Tries to open a database another process holds and reports the error code. */
async function tryOpen(path: string): Promise<void> {
  try {
    await (await Store.open(path)).close();
    process.send!({ code: null });
  } catch (err) {
    process.send!({ code: (err as { code?: string }).code ?? "unknown", message: (err as Error).message });
  }
}

if (process.argv[2] && process.argv[3] === "open" && process.send) {
  void tryOpen(process.argv[2]);
} else if (process.argv[2] && process.send) {
  main(process.argv[2]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
