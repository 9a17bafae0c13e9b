import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ReservoirSet } from "../../../server/analysis/index.js";
import { addMetric } from "../../../server/graphql/added-metric.js";
import { createContext, type Services } from "../../../server/graphql/context.js";
import { DEFAULT_LIMITS } from "../../../server/graphql/limits.js";
import { NeuronResolver } from "../../../server/graphql/neuron.resolver.js";
import { Direction } from "../../../server/graphql/neuron.type.js";
import { extremalRows, loadNeuronRows, reservoirExtremalRows, type ActivationReading } from "../../../server/graphql/neuron-service.js";
import { decodeReservoirs, encodeReservoirs, layerSnapshot, ReservoirCodecError } from "../../../server/runs/reservoir-codec.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import { runStorage, validateRunOptions, type RunOptions } from "../../../server/runs/run-options.js";
import { ServiceError } from "../../../server/errors.js";
import { SignificanceService } from "../../../server/runs/significance.js";
import type { ScoreAgg } from "../../../server/store/scores.js";
import { Store } from "../../../server/store/store.js";
import { addPlantedTask, type PlantedRow } from "../../fixtures/planted-run.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const planted = join(root, "test/fixtures/planted");
const PLANTED_NEURON = 7;
const K = 8;

let dir: string;
let store: Store;
let manager: RunManager;
let fullRun: number;
let topkRun: number;
let gappedRun: number;

/** The planted task; `dropColors` removes the colors field of that validation sample. */
function plantedTask(dropColors?: string): Promise<number> {
  return addPlantedTask(store, (rows) => {
    for (const r of rows) if (r.id === dropColors) delete (r as Partial<PlantedRow>).colors;
    return rows;
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-topk-"));
  store = await Store.open(join(dir, "runs.duckdb"));
  manager = new RunManager(store, { leaderboardIntervalMs: 0 });
  const modelId = await store.addModel({ path: join(planted, "model"), family: "gpt2", config: {} });
  const taskId = await plantedTask();
  const base: RunOptions = { promptLength: 4, steps: 4, batchSize: 8, evalEvery: 0, seed: 1, threads: 1 };
  fullRun = (await manager.start({ modelId, taskId, options: base })).id;
  topkRun = (await manager.start({ modelId, taskId, options: { ...base, storage: "topk", reservoirK: K } })).id;
  const valId = readFileSync(join(planted, "task.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).find((r) => r.split === "val").id;
  gappedRun = (await manager.start({ modelId, taskId: await plantedTask(valId), options: { ...base, storage: "topk", reservoirK: K } })).id;
  await manager.whenIdle();
  for (const id of [fullRun, topkRun, gappedRun]) {
    const run = await store.getRun(id);
    assert.equal(run.status, "done", `run ${id} ended ${run.status}: ${run.error}`);
  }
});

after(async () => {
  await manager.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function allScores(runId: number, metric: string, agg: ScoreAgg): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let after: string | null = null; ; ) {
    const page = await store.queryScores(runId, { metric, agg, first: 1000, after });
    for (const s of page.rows) out.set(`${s.layer}/${s.neuron}/${agg === "position" ? s.position : ""}`, s.r);
    if (!page.hasNextPage) return out;
    after = page.endCursor;
  }
}

test("a topk run stores no activations and scores every metric as the full run of the same seed does", async () => {
  const topk = await store.getRun(topkRun);
  assert.deepEqual(runStorage(topk), { mode: "topk", k: K });
  assert.deepEqual(topk.layers, (await store.getRun(fullRun)).layers);
  for (const layer of topk.layers!) {
    assert.equal((await store.readActivations(topkRun, layer)).sampleIdx.length, 0);
    assert.ok((await store.readActivations(fullRun, layer)).sampleIdx.length > 0);
    assert.ok(await store.getReservoir(topkRun, layer), `reservoir of layer ${layer}`);
  }
  const metrics = (await store.listMetrics(fullRun)).map((m) => m.name);
  assert.deepEqual((await store.listMetrics(topkRun)).map((m) => m.name), metrics);
  assert.ok(metrics.includes("colors"));
  for (const metric of metrics) {
    for (const agg of ["position", "max_abs_r", "max_act"] as const) {
      const want = await allScores(fullRun, metric, agg);
      const got = await allScores(topkRun, metric, agg);
      assert.equal(got.size, want.size, `${metric}/${agg}: ${got.size} scores vs ${want.size}`);
      // a constant metric ("correct" when every answer is right) has no defined r, hence no score rows
      if (metric === "colors") assert.ok(want.size > 0);
      for (const [key, r] of want) {
        const g = got.get(key);
        assert.ok(g !== undefined && (Number.isNaN(r) ? Number.isNaN(g) : Math.abs(g - r) < 1e-9), `${metric}/${agg} ${key}: ${g} vs ${r}`);
      }
    }
  }
});

test("a topk run leaves a metric with missing values unscored and records why", async () => {
  const run = await store.getRun(gappedRun);
  const figures = run.valFigures as { unscored?: { metric: string; reason: string }[] };
  assert.deepEqual(figures.unscored?.map((u) => u.metric), ["colors"]);
  assert.match(figures.unscored![0].reason, /storage "topk"/);
  assert.equal((await store.queryScores(gappedRun, { metric: "colors", agg: "position", first: 10 })).totalCount, 0);
  assert.ok((await store.queryScores(gappedRun, { metric: "loss", agg: "position", first: 10 })).totalCount > 0);
  const complete = (await store.getRun(topkRun)).valFigures as { samples: number; unscored?: unknown };
  assert.ok(complete.samples > 0);
  assert.equal(complete.unscored, undefined, "a run with every value scores every metric");
});

test("extremal samples from the reservoirs equal the full run's top and bottom k, at the best position and over positions", async () => {
  const best = await store.queryScores(fullRun, { metric: "colors", agg: "max_abs_r", first: 3 });
  assert.equal(best.rows[0].neuron, PLANTED_NEURON);
  const acts = await store.readActivations(fullRun, 0);
  for (const s of best.rows) {
    const neuron = { layer: s.layer, index: s.neuron };
    const rows = await loadNeuronRows(store, fullRun, s.layer, s.neuron);
    for (const position of [s.position, null]) {
      const reading: ActivationReading = position === null ? { kind: "max_over_positions" } : { kind: "position", position };
      for (const direction of ["high", "low"] as const) {
        const want = extremalRows(rows, direction, K, reading);
        const got = await reservoirExtremalRows(store, topkRun, K, neuron, direction, K, reading);
        // the reservoirs keep the max over positions' value, not where it peaked
        const wantFromReservoirs = position === null ? want.map((e) => ({ ...e, position: null })) : want;
        assert.deepEqual(got, wantFromReservoirs, `L${s.layer}.N${s.neuron} @${position} ${direction}`);
        // independent oracle: sort the full run's stored activations of this neuron
        const value = (row: number): number => {
          const at = (p: number): number => acts.data[(row * acts.positions + p) * acts.dFF + s.neuron];
          return position === null ? Math.max(...Array.from({ length: acts.positions }, (_, p) => at(p))) : at(position);
        };
        const sign = direction === "high" ? -1 : 1;
        const oracle = Array.from(acts.sampleIdx, (idx, row) => ({ idx, v: value(row) }))
          .sort((a, b) => sign * (a.v - b.v) || a.idx - b.idx).slice(0, K);
        assert.deepEqual(got.map((e) => [e.sampleIdx, e.activation]), oracle.map((o) => [o.idx, o.v]));
        // fewer than k comes out as asked
        assert.deepEqual(await reservoirExtremalRows(store, topkRun, K, neuron, direction, 3, reading), wantFromReservoirs.slice(0, 3));
      }
    }
  }
});

test("the neuron resolver serves extremalSamples of a topk run from its reservoirs, with the sample details", async () => {
  const ctx = createContext({ store, limits: DEFAULT_LIMITS } as unknown as Services, { canRead: true, canWrite: false });
  const resolver = new NeuronResolver();
  const at = (runId: number) => ({ id: `L0.N${PLANTED_NEURON}`, runId: String(runId), layer: 0, index: PLANTED_NEURON });
  for (const direction of [Direction.HIGH, Direction.LOW]) {
    const got = await resolver.extremalSamples(at(topkRun), direction, K, { metric: "colors" }, ctx);
    const want = await resolver.extremalSamples(at(fullRun), direction, K, { metric: "colors" }, ctx);
    assert.ok(got.every((e) => e.reading === "best_position" && e.position === got[0]!.position));
    assert.equal(got.length, K);
    assert.deepEqual(got.map((e) => ({ ...e, runId: 0 })), want.map((e) => ({ ...e, runId: 0 })));
    assert.ok(got.every((e) => e.text !== null && e.prediction !== null));
  }
  await assert.rejects(resolver.extremalSamples(at(topkRun), Direction.HIGH, K + 1, { position: 0 }, ctx), (e: Error & { code?: string }) => {
    assert.equal(e.code, "BAD_USER_INPUT");
    assert.match(e.message, new RegExp(`reservoirK ${K}`));
    return true;
  });
});

test("a topk run refuses what needs full activations with typed errors", async () => {
  const neuron = { layer: 0, index: PLANTED_NEURON };
  await assert.rejects(reservoirExtremalRows(store, topkRun, K, neuron, "high", K + 1, { kind: "max_over_positions" }), (e: Error & { code?: string }) => {
    assert.equal(e.code, "BAD_USER_INPUT");
    assert.match(e.message, /k <= 8/);
    return true;
  });
  await assert.rejects(reservoirExtremalRows(store, topkRun, K, neuron, "high", 2, { kind: "position", position: 99 }), /position: 99 is out of range/);
  await assert.rejects(loadNeuronRows(store, topkRun, 0, PLANTED_NEURON), (e: Error & { code?: string }) => e.code === "BAD_STATE" && /storage "topk"/.test(e.message));
  const outputs = await store.readSampleOutputs(topkRun);
  const pairs = outputs.sampleId.map((sampleId, i) => ({ id: sampleId, value: i }));
  await assert.rejects(addMetric(store, topkRun, "extra", pairs), (e: Error & { code?: string }) => e.code === "BAD_STATE" && /adding a metric/.test(e.message));
  assert.ok(!(await store.listMetrics(topkRun)).some((m) => m.name === "extra"), "the refused metric was not written");
  await assert.rejects(new SignificanceService(store).compute(topkRun, "colors", { permutations: 2 }), (e: unknown) => e instanceof ServiceError && e.code === "BAD_STATE" && /storage "topk"/.test(e.message));
});

test("run options: storage and reservoirK are checked", () => {
  validateRunOptions({ storage: "topk", reservoirK: 1000 });
  validateRunOptions({ storage: "full" });
  assert.throws(() => validateRunOptions({ storage: "disk" as "full" }), /storage: must be "full" or "topk"/);
  assert.throws(() => validateRunOptions({ storage: "topk", reservoirK: 0 }), /reservoirK: must be an integer in 1\.\.1000/);
  assert.throws(() => validateRunOptions({ reservoirK: 4 }), /reservoirK: applies only to storage "topk"/);
  assert.deepEqual(runStorage({ storage: "topk" }), { mode: "topk", k: 32 });
  assert.deepEqual(runStorage({ config: {} }), { mode: "full" });
});

test("the reservoir codec round-trips a snapshot and rejects damaged bytes", () => {
  const shape = { layers: 3, positions: 2, neurons: 5, k: 4 };
  const set = new ReservoirSet(shape);
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  // layer 1 gets fewer samples than k (partly filled heaps), layer 2 none
  set.update(0, Float32Array.from({ length: 6 * 2 * 5 }, rand), [0, 1, 2, 3, 4, 5]);
  set.update(1, Float32Array.from({ length: 2 * 2 * 5 }, rand), [8, 9]);
  const snap = set.toSnapshot();
  const back = decodeReservoirs(encodeReservoirs(snap));
  assert.deepEqual(back, snap);
  const one = decodeReservoirs(encodeReservoirs(layerSnapshot(snap, 1)));
  assert.deepEqual(one.layers.map((d) => d !== null), [false, true, false]);
  assert.deepEqual(ReservoirSet.fromSnapshot(one).extremes(1, "max", 3), set.extremes(1, "max", 3));

  const bytes = encodeReservoirs(snap);
  assert.throws(() => decodeReservoirs(bytes.subarray(0, bytes.length - 4)), ReservoirCodecError);
  assert.throws(() => decodeReservoirs(bytes.subarray(0, 2)), /too short/);
  const badHeader = bytes.slice();
  badHeader[4] = 0x7b + 1; // "{" -> "|"
  assert.throws(() => decodeReservoirs(badHeader), /header is not JSON/);
});
