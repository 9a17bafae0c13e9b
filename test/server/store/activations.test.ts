import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import { Store, StoreError } from "../../../server/store/index.js";
import { pattern, sameBits, storeWithRun, tempDir } from "./helpers.js";

const P = 3;
const F = 37;

function batch(batchId: string, layer: number, samples: number[], seed: number) {
  const sampleIdx = Int32Array.from(samples);
  return { shard: 0, batchId, layer, sampleIdx, nPositions: P, dFF: F, data: pattern(samples.length * P * F, seed) };
}

describe("activations", () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "acts.duckdb");
  let store: Store;
  let runId: number;
  before(async () => ({ store, runId } = await storeWithRun(path)));
  after(async () => {
    await store.close();
    tmp.cleanup();
  });

  it("round-trips bit-exactly, samples sorted, across batches given out of order", async () => {
    const b2 = batch("b2", 1, [7, 5, 9], 2);
    const b1 = batch("b1", 1, [0, 3], 1);
    assert.deepEqual(await store.ingestActivations(runId, b2), { ingested: true, rows: 9 });
    assert.deepEqual(await store.ingestActivations(runId, b1), { ingested: true, rows: 6 });
    const got = await store.readActivations(runId, 1);
    assert.deepEqual(Array.from(got.sampleIdx), [0, 3, 5, 7, 9]);
    assert.equal(got.positions, P);
    assert.equal(got.dFF, F);
    const row = (b: ReturnType<typeof batch>, k: number) => b.data.subarray(k * P * F, (k + 1) * P * F);
    const expected = new Float32Array(5 * P * F);
    [row(b1, 0), row(b1, 1), row(b2, 1), row(b2, 0), row(b2, 2)].forEach((r, i) => expected.set(r, i * P * F));
    assert.ok(sameBits(got.data, expected), "stored floats differ from ingested ones");
    const run = await store.getRun(runId);
    assert.equal(run.positions, P);
    assert.equal(run.dFF, F);
  });

  it("readNeuron equals the neuron's column of readActivations", async () => {
    const all = await store.readActivations(runId, 1);
    for (const neuron of [0, 17, F - 1]) {
      const one = await store.readNeuron(runId, 1, neuron);
      assert.deepEqual(Array.from(one.sampleIdx), Array.from(all.sampleIdx));
      const expected = Float32Array.from({ length: all.sampleIdx.length * P }, (_, k) => all.data[k * F + neuron]!);
      assert.ok(sameBits(one.data, expected));
    }
    await assert.rejects(store.readNeuron(runId, 1, F), (e: StoreError) => e.code === "INVALID_INPUT" && /d_ff 37/.test(e.message));
  });

  it("treats a repeated batch id as a no-op, per layer", async () => {
    const again = batch("b1", 1, [11, 12], 99);
    assert.deepEqual(await store.ingestActivations(runId, again), { ingested: false, rows: 0 });
    const got = await store.readActivations(runId, 1);
    assert.deepEqual(Array.from(got.sampleIdx), [0, 3, 5, 7, 9]);
    // the same batch id at another layer is a different batch
    assert.equal((await store.ingestActivations(runId, batch("b1", 0, [0, 3], 5))).ingested, true);
    assert.deepEqual(Array.from((await store.readActivations(runId, 0)).sampleIdx), [0, 3]);
  });

  it("rejects malformed batches with typed errors and stores nothing", async () => {
    const before = await store.readActivations(runId, 2);
    const cases: [string, object][] = [
      ["data", { ...batch("x1", 2, [1], 1), data: new Float32Array(5) }],
      ["sampleIdx", { ...batch("x2", 2, [1, 1], 1) }],
      ["data", { ...batch("x3", 2, [1], 1), data: Object.assign(pattern(P * F, 1), { 4: NaN }) }],
      ["layer", { ...batch("x4", 2, [1], 1), layer: -1 }],
      ["dFF", { ...batch("x5", 2, [1], 1), dFF: 0 }],
    ];
    for (const [field, b] of cases) {
      await assert.rejects(
        store.ingestActivations(runId, b as ReturnType<typeof batch>),
        (e: unknown) => e instanceof StoreError && e.code === "INVALID_INPUT" && e.message.includes(field),
      );
    }
    // shape differing from the run's is refused inside the transaction
    const wide = { shard: 0, batchId: "x6", layer: 2, sampleIdx: Int32Array.of(1), nPositions: P, dFF: F + 1, data: pattern(P * (F + 1), 3) };
    await assert.rejects(store.ingestActivations(runId, wide), (e: StoreError) => e.code === "INVALID_INPUT" && /differ/.test(e.message));
    await assert.rejects(store.ingestActivations(999, batch("x7", 2, [1], 1)), (e: StoreError) => e.code === "NOT_FOUND");
    assert.equal((await store.readActivations(runId, 2)).sampleIdx.length, before.sampleIdx.length);
    // a retry of a refused batch id is stored normally: the refusal recorded nothing
    assert.equal((await store.ingestActivations(runId, batch("x6", 2, [1], 3))).ingested, true);
  });

  it("keeps data across close and reopen, and opens read-only", async () => {
    const beforeClose = await store.readActivations(runId, 1);
    await store.close();
    const ro = await Store.open(path, { readOnly: true });
    assert.ok(sameBits((await ro.readActivations(runId, 1)).data, beforeClose.data));
    await assert.rejects(store.getRun(runId), (e: StoreError) => e.code === "CLOSED");
    await assert.rejects(ro.ingestActivations(runId, batch("r1", 1, [20], 1)), (e: StoreError) => e.code === "READ_ONLY");
    await ro.close();
    store = await Store.open(path);
    assert.ok(sameBits((await store.readActivations(runId, 1)).data, beforeClose.data));
  });
});
