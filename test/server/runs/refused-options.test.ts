import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { buildSchema } from "graphql";
import { runJob } from "../../../gpu-runner/runner/job.js";
import type { ActivationsEvent, RunnerEvent, StartMessage } from "../../../gpu-runner/runner/protocol.js";
import { ServiceError } from "../../../server/errors.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import { PREFIX_REFUSED, validateRunOptions } from "../../../server/runs/run-options.js";
import { Store } from "../../../server/store/store.js";
import { TINY, TINY_MODEL, tinyRows } from "../../fixtures/tiny-checkpoint.js";

/**
 * Options that cannot give a defined result are refused before anything is written. The oracle for
 * the prefix refusal is the runner itself: with the prompt before the input, a causal model's
 * soft-position activations are the same for every sample.
 */
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
let dir: string;
let store: Store;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-refused-"));
  store = await Store.open(join(dir, "db.duckdb"));
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function softActivations(placement: "after" | "prefix"): Promise<ActivationsEvent[]> {
  const events: RunnerEvent[] = [];
  const start: StartMessage = {
    type: "start", runId: "refused", model: TINY_MODEL, rows: { train: tinyRows(8, 1), val: tinyRows(12, 2, "v") },
    layout: { promptLength: 3, placement }, prompt: Float32Array.from({ length: 3 * TINY.dModel }, (_, i) => Math.sin(i + 1)), extract: { batchSize: 12 },
  };
  await runJob(start, (ev) => events.push(structuredClone(ev)), new AbortController().signal);
  return events.filter((e): e is ActivationsEvent => e.type === "activations");
}

/** Largest spread over samples of any (position, neuron) activation. */
function spreadOverSamples(ev: ActivationsEvent): number {
  const n = ev.sampleIdx.length;
  const cols = ev.nPositions * ev.dFF;
  let spread = 0;
  for (let c = 0; c < cols; c++) {
    let lo = Infinity, hi = -Infinity;
    for (let s = 0; s < n; s++) { lo = Math.min(lo, ev.data[s * cols + c]!); hi = Math.max(hi, ev.data[s * cols + c]!); }
    spread = Math.max(spread, hi - lo);
  }
  return spread;
}

test("why prefix is refused: in a causal model the prefix prompt's activations do not depend on the sample; after the input they do", async () => {
  const prefix = await softActivations("prefix");
  const afterInput = await softActivations("after");
  assert.ok(prefix.length > 0 && afterInput.length > 0);
  for (const ev of prefix) assert.ok(spreadOverSamples(ev) < 1e-6, `prefix, layer ${ev.layer}: spread ${spreadOverSamples(ev)}`);
  for (const ev of afterInput) assert.ok(spreadOverSamples(ev) > 1e-3, `after, layer ${ev.layer}: spread ${spreadOverSamples(ev)}`);
});

test("placement prefix is refused with the reason, before a run is written", async () => {
  assert.throws(() => validateRunOptions({ placement: "prefix" }), (e: unknown) => e instanceof ServiceError && e.code === "BAD_INPUT" && e.message.includes(PREFIX_REFUSED));
  assert.match(PREFIX_REFUSED, /causal/);
  const manager = new RunManager(store);
  try {
    const modelId = await store.addModel({ path: "/none", family: "gpt2", config: {} });
    const taskId = await store.addTask({ name: "t", source: "<inline>", template: "{x}", verbalizer: null });
    await assert.rejects(manager.start({ modelId, taskId, options: { placement: "prefix" } }), /causal/);
    assert.deepEqual(await store.listRuns(), []);
  } finally {
    await manager.close();
  }
});

test('positions "all" is gone from the API: the run options have no positions field', () => {
  const schema = buildSchema(readFileSync(join(ROOT, "schema/schema.graphql"), "utf8"));
  const input = schema.getType("RunOptionsInput") as { getFields(): Record<string, unknown> };
  assert.ok("placement" in input.getFields());
  assert.equal("positions" in input.getFields(), false);
});
