/**
 * Causal services on a real run of the planted checkpoint (trained prompt, scored neurons): the
 * pipeline's top neuron for "colors" is L0.N7, and ablating it moves the outputs far more than
 * random neurons of its layer, while a neuron with no role sits inside the random control's spread.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runAblation, steerNeuron, pairedBootstrap, tInterval, studentTQuantile } from "../../../server/causal/index.js";
import { ServiceError } from "../../../server/errors.js";
import { Store } from "../../../server/store/store.js";
import { startPlantedRun, type PlantedRun } from "../../fixtures/planted-run.js";

let fixture: PlantedRun;
let store: Store;
let runId: number;
let modelId: number;
let taskId: number;

before(async () => {
  fixture = await startPlantedRun("skillscope-causal-",
    // 40 val rows keep the causal forwards fast
    (rows) => rows.filter((r) => r.split === "train").slice(0, 40).concat(rows.filter((r) => r.split === "val").slice(0, 40)),
  );
  ({ store, runId, modelId, taskId } = fixture);
});

after(() => fixture.close());

test("ablating the top colour neuron (L0.N7) moves outputs far more than random neurons; a neuron with no role does not", async () => {
  const opts = { metric: "colors", k: 1, mode: "zero" as const, randomDraws: 20, seed: 3 };
  const top = await runAblation(store, runId, opts);
  assert.deepEqual(top.neurons.map((n) => [n.layer, n.neuron]), [[0, 7]]);
  assert.ok(Math.abs(top.neurons[0]!.r!) > 0.9);
  assert.equal(top.random.length, 20);
  assert.equal(top.sampleIds.length, 40);
  // the baseline forward reproduces extraction's per-sample outputs: same rows, order, layout and prompt
  const stored = await store.readSampleOutputs(runId);
  assert.deepEqual(stored.sampleId, top.sampleIds);
  stored.loss.forEach((l, i) => assert.ok(Math.abs(l - top.baseline.perSample.loss[i]!) < 1e-5, `sample ${stored.sampleId[i]} loss ${l} vs ${top.baseline.perSample.loss[i]}`));
  assert.deepEqual(Array.from(stored.correct), Array.from(top.baseline.perSample.correct));
  const kl = top.deltas.kl;
  const randomKl = top.random.map((r) => r.meanKl);
  assert.ok(kl.ablated.estimate > 100 * Math.max(...randomKl), `planted KL ${kl.ablated.estimate} vs random up to ${Math.max(...randomKl)}`);
  assert.equal(kl.pRandom, 1 / 21);
  assert.ok(kl.effect.low > 0 && kl.z > 3, `effect ${JSON.stringify(kl.effect)} z ${kl.z}`);
  assert.ok(kl.ablated.low <= kl.ablated.estimate && kl.ablated.estimate <= kl.ablated.high);
  const dLoss = top.deltas.loss;
  assert.ok(Math.abs(dLoss.ablated.estimate) > 4 * Math.max(...top.random.map((r) => Math.abs(r.meanLoss - top.baseline.meanLoss))), `loss delta ${dLoss.ablated.estimate} vs random ${top.random.map((r) => (r.meanLoss - top.baseline.meanLoss).toExponential(2)).join(",")}`);
  assert.ok(top.ablated.changed > Math.max(...top.random.map((r) => r.changed)), "more predictions change than under any random set");

  // the neuron least correlated with the colour count: an ordinary member of the random control
  const layer0 = await store.queryScores(runId, { metric: "colors", agg: "max_abs_r", layer: 0, first: 1000 });
  const quiet = layer0.rows.at(-1)!;
  const none = await runAblation(store, runId, { ...opts, neurons: [{ layer: 0, neuron: quiet.neuron }] });
  const lo = Math.min(...none.random.map((r) => r.meanKl));
  const hi = Math.max(...none.random.map((r) => r.meanKl));
  assert.ok(none.ablated.meanKl >= lo && none.ablated.meanKl <= hi, `L0.N${quiet.neuron} (|r| ${Math.abs(quiet.r).toFixed(3)}) KL ${none.ablated.meanKl} outside the random spread [${lo}, ${hi}]`);
  assert.ok(none.deltas.kl.pRandom > 0.05);
});

test("steering by factor 1 is the identity; other factors move predictions", async () => {
  const status: string[] = [];
  const s = await steerNeuron(store, runId, 0, 7, [1, -2, 3], {}, { onStatus: (m) => status.push(m) });
  assert.ok(status.includes("steering: batch 3 of 3 done"), status.join(" | "));
  assert.equal(s.factors.length, 3);
  assert.deepEqual(s.factors[0]!.perSample.loss, s.baseline.perSample.loss);
  assert.deepEqual(s.factors[0]!.perSample.prediction, s.baseline.perSample.prediction);
  assert.equal(s.factors[0]!.changed, 0);
  assert.ok(s.factors[1]!.meanKl > 0 && s.factors[2]!.meanKl > 0);
  assert.notEqual(s.factors[1]!.meanGoldProb, s.baseline.meanGoldProb);
});

test("bad requests get typed errors naming the field", async () => {
  const code = (c: string) => (e: unknown) => e instanceof ServiceError && e.code === c;
  await assert.rejects(runAblation(store, runId, { metric: "nope", k: 1, mode: "zero", randomDraws: 1, seed: 0 }), code("NOT_FOUND"));
  await assert.rejects(runAblation(store, runId, { metric: "colors", k: 0, mode: "zero", randomDraws: 1, seed: 0 }), code("BAD_INPUT"));
  await assert.rejects(runAblation(store, runId, { metric: "colors", k: 1, mode: "bogus" as never, randomDraws: 1, seed: 0 }), code("BAD_INPUT"));
  await assert.rejects(runAblation(store, 999, { metric: "colors", k: 1, mode: "zero", randomDraws: 1, seed: 0 }), code("NOT_FOUND"));
  await assert.rejects(steerNeuron(store, runId, 0, 64, [2]), code("BAD_INPUT"));
  await assert.rejects(runAblation(store, runId, { metric: "colors", k: 1, mode: "zero", randomDraws: 1, seed: 0, neurons: [{ layer: 5, neuron: 0 }] }), code("BAD_INPUT"));
  const fresh = await store.createRun({ modelId, taskId, config: { options: {} } });
  await assert.rejects(runAblation(store, fresh, { metric: "colors", k: 1, mode: "zero", randomDraws: 1, seed: 0 }), code("BAD_STATE"));
});

test("intervals: t quantiles, t interval and paired bootstrap against hand-computed values", () => {
  // scipy.stats.t.ppf(0.975, df) for df = 1, 4, 19
  assert.ok(Math.abs(studentTQuantile(0.975, 1) - 12.706204736174698) < 1e-8);
  assert.ok(Math.abs(studentTQuantile(0.975, 4) - 2.7764451051977987) < 1e-9);
  assert.ok(Math.abs(studentTQuantile(0.975, 19) - 2.093024054408263) < 1e-9);
  // [1, 2, 3, 4, 5]: mean 3, sd sqrt(2.5), half width 2.7764451 * sqrt(2.5) / sqrt(5)
  const t = tInterval([1, 2, 3, 4, 5]);
  assert.equal(t.estimate, 3);
  assert.ok(Math.abs(t.high - 3 - 2.7764451051977987 * Math.sqrt(0.5)) < 1e-9);
  // constant paired differences: every resample has the same mean
  const b = pairedBootstrap([1, 2, 3, 4], [1.5, 2.5, 3.5, 4.5], 200, 1);
  assert.deepEqual([b.estimate, b.low, b.high], [0.5, 0.5, 0.5]);
  const v = pairedBootstrap([0, 0, 0, 0, 0, 0], [0, 1, 0, 1, 0, 1], 2000, 7);
  assert.ok(v.low < 0.5 && v.high > 0.5 && v.low >= 0 && v.high <= 1);
  assert.ok(Number.isNaN(tInterval([2]).low));
});
