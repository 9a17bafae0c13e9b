import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { leaderboardKey, LiveEvents, type RunStatusEvent, type TrainingProgressEvent } from "../../../server/graphql/live-events.js";

function progress(runId: string, seq: number): TrainingProgressEvent {
  return { runId, seq, phase: "train", step: seq, epoch: 0, loss: 1 / (seq + 1), lr: 1e-3, tokensPerSec: 100 };
}

/** Takes the next `n` values of an iterator. */
async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    assert.equal(r.done, false);
    out.push(r.value);
  }
  return out;
}

describe("LiveEvents", () => {
  it("delivers events of one key in publish order and nothing of other keys", async () => {
    const live = new LiveEvents();
    const it = live.subscribe("TRAINING_PROGRESS", "1");
    const first = it.next(); // starts the subscription
    for (let seq = 0; seq < 50; seq++) {
      live.publish("TRAINING_PROGRESS", "2", progress("2", seq));
      live.publish("TRAINING_PROGRESS", "1", progress("1", seq));
    }
    const got = [(await first).value as TrainingProgressEvent, ...(await take(it, 49))];
    assert.deepEqual(got.map((e) => e.seq), Array.from({ length: 50 }, (_, i) => i));
    assert.ok(got.every((e) => e.runId === "1"));
    await it.return?.();
  });

  it("gives a late subscriber the latest event first, then only newer ones", async () => {
    const live = new LiveEvents();
    for (let seq = 0; seq < 5; seq++) live.publish("TRAINING_PROGRESS", "7", progress("7", seq));
    const it = live.subscribe("TRAINING_PROGRESS", "7");
    const first = await it.next();
    assert.equal((first.value as TrainingProgressEvent).seq, 4);
    live.publish("TRAINING_PROGRESS", "7", progress("7", 5));
    live.publish("TRAINING_PROGRESS", "7", progress("7", 6));
    assert.deepEqual((await take(it, 2)).map((e) => e.seq), [5, 6]);
    await it.return?.();
  });

  it("loads the stored latest state when nothing was published in this process", async () => {
    const stored: RunStatusEvent = { runId: "3", status: "done", at: new Date(0) };
    const asked: string[] = [];
    const live = new LiveEvents({
      RUN_STATUS: async (key) => {
        asked.push(key);
        return key === "3" ? stored : null;
      },
    });
    const it = live.subscribe("RUN_STATUS", "3");
    assert.equal((await it.next()).value, stored);
    assert.deepEqual(asked, ["3"]);
    const later: RunStatusEvent = { runId: "3", status: "failed", error: "x", at: new Date(1) };
    live.publish("RUN_STATUS", "3", later);
    assert.equal((await it.next()).value, later);
    await it.return?.();
  });

  it("prefers events published while the store is read over the stored state", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stale: RunStatusEvent = { runId: "4", status: "queued", at: new Date(0) };
    const live = new LiveEvents({ RUN_STATUS: async () => (await gate, stale) });
    const it = live.subscribe("RUN_STATUS", "4");
    const first = it.next();
    await new Promise((r) => setImmediate(r));
    const a: RunStatusEvent = { runId: "4", status: "training", at: new Date(1) };
    const b: RunStatusEvent = { runId: "4", status: "extracting", at: new Date(2) };
    live.publish("RUN_STATUS", "4", a);
    live.publish("RUN_STATUS", "4", b);
    release();
    assert.equal((await first).value, b);
    const c: RunStatusEvent = { runId: "4", status: "done", at: new Date(3) };
    live.publish("RUN_STATUS", "4", c);
    assert.equal((await it.next()).value, c);
    await it.return?.();
  });

  it("forgets a run's remembered state on every topic", () => {
    const live = new LiveEvents();
    live.publish("TRAINING_PROGRESS", "9", progress("9", 0));
    live.publish("RUN_STATUS", "9", { runId: "9", status: "done", at: new Date() });
    live.publish("NEURON_LEADERBOARD", leaderboardKey("9", "label"), { runId: "9", metric: "label", samplesSeen: 1, entries: [] });
    live.publish("NEURON_LEADERBOARD", leaderboardKey("90", "label"), { runId: "90", metric: "label", samplesSeen: 1, entries: [] });
    live.forget("9");
    assert.equal(live.latest("TRAINING_PROGRESS", "9"), undefined);
    assert.equal(live.latest("RUN_STATUS", "9"), undefined);
    assert.equal(live.latest("NEURON_LEADERBOARD", leaderboardKey("9", "label")), undefined);
    assert.notEqual(live.latest("NEURON_LEADERBOARD", leaderboardKey("90", "label")), undefined);
  });

  it("stops listening when the subscriber returns", async () => {
    const live = new LiveEvents();
    const it = live.subscribe("TRAINING_PROGRESS", "5");
    const pending = it.next();
    live.publish("TRAINING_PROGRESS", "5", progress("5", 0));
    await pending;
    await it.return?.();
    assert.equal((await it.next()).done, true);
  });
});
