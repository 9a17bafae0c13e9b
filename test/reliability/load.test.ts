import assert from "node:assert/strict";
import { it } from "node:test";
import { runLoad } from "../../bench/load.js";

/**
 * The short form of `npm run bench -- load`: 40 clients x 5 requests and 10 progress subscribers
 * against a `skillscope serve` process while a run trains. No errors; every subscriber sees
 * gap-free, increasing seq numbers from its first event to the run's last. Latency and RSS are
 * printed as diagnostics, never asserted.
 */
it("serves 40 concurrent clients and 10 subscribers while a run trains, losing and reordering nothing", async () => {
  const r = await runLoad({ clients: 40, requestsPerClient: 5, maxQueryMs: 60_000, subscribers: 10 });
  console.log(`load: ${r.loaded.requests} queries, p50 ${r.loaded.p50Ms.toFixed(1)} ms, p99 ${r.loaded.p99Ms.toFixed(1)} ms (idle p99 ${r.idle.p99Ms.toFixed(1)} ms); ` +
    `subscribers saw ${r.subscribers.map((s) => s.events).join(",")} events up to seq ${r.lastSeq}; server peak RSS ${r.peakRssMb.toFixed(0)} MiB; phases ${JSON.stringify(r.phases)}`);
  assert.deepEqual(r.errors, []);
  assert.equal(r.loaded.requests, 200);
  assert.equal(r.idle.requests, 200);
  assert.ok(r.lastSeq > 0, "the training run reported progress");
  assert.equal(r.subscribers.length, 10);
  for (const [i, s] of r.subscribers.entries()) {
    assert.deepEqual(s.problems, [], `subscriber ${i}`);
    assert.ok(s.events >= 2, `subscriber ${i} saw ${s.events} events`);
  }
});
