/**
 * Jobs on runs (causal experiments) share the run manager's queue: a job waits behind a running
 * run for its slot, is listed while it waits or runs, and cancelJob refuses a queued one without
 * starting it or aborts a running one. The runs are held open by a stand-in runner.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ServiceError } from "../../../server/errors.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import { Store } from "../../../server/store/index.js";
import { HeldRunner } from "../../clients/dashboard/held-runner.js";

const isCode = (code: string) => (e: unknown) => e instanceof ServiceError && e.code === code;

test("a job waits for the slot a run holds, is listed, and is cancellable queued or running", async () => {
  const store = await Store.open(":memory:");
  const runner = new HeldRunner();
  const manager = new RunManager(store, { concurrency: 1, executor: runner.executor });
  try {
    const modelId = await store.addModel({ path: "/nowhere", family: "gpt2", config: {} });
    const taskId = await store.addTask({ name: "t", source: "t.jsonl", template: "{text}", verbalizer: null }, [
      { sampleId: "a", split: "val", fields: { text: "x" }, rendered: "x", answer: "yes", label: "1" },
    ]);
    const run = await manager.start({ modelId, taskId });
    assert.equal(await runner.started, String(run.id));

    const started: string[] = [];
    const first = manager.runJob(run.id, "ablation", (signal, status) => {
      started.push("ablation");
      status("forwarding");
      return new Promise<string>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
    });
    const second = manager.runJob(run.id, "steering", async () => {
      started.push("steering");
      return "steered";
    });
    // the run holds the only slot: both jobs wait, in order
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(started, []);
    assert.deepEqual(manager.listJobs(run.id).map((j) => [j.kind, j.state]), [["ablation", "queued"], ["steering", "queued"]]);

    const steering = manager.listJobs(run.id)[1]!;
    assert.equal(manager.cancelJob(steering.id).state, "queued");
    await assert.rejects(second, isCode("BAD_STATE"));
    assert.throws(() => manager.cancelJob(steering.id), isCode("NOT_FOUND"));

    // the run ends; the ablation gets the slot, reports status, and stops when cancelled
    await manager.cancel(run.id);
    for (let i = 0; i < 100 && started.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(started, ["ablation"]);
    const running = manager.listJobs(run.id).find((j) => j.kind === "ablation")!;
    assert.deepEqual([running.state, running.status], ["running", "forwarding"]);
    manager.cancelJob(running.id);
    await assert.rejects(first, /aborted/);
    await manager.whenIdle();
    assert.deepEqual(manager.listJobs(), []);
    assert.equal((await store.getRun(run.id)).status, "cancelled");
  } finally {
    await manager.close();
    await store.close();
  }
});
