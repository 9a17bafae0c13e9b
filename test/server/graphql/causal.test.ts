/**
 * "Beyond the paper" over real HTTP: ablation and steering mutations on a trained run of the
 * planted checkpoint (L0.N7 is wired to the colour count), seed stability and cross-run comparison
 * on hand-made score tables, counterexample sets and alternative scores against values computed
 * here from the stored outputs and activations (float64 two-pass formulas).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer, type RunningServer } from "../../../server/http/server.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import { Store } from "../../../server/store/store.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const planted = join(root, "test/fixtures/planted");

let dir: string;
let server: RunningServer;
let token: string;
let runId: number;
let untrained: number;
const scored: Record<"a" | "b" | "otherTask", number> = { a: 0, b: 0, otherTask: 0 };
let valIds: string[];
/** Expected counterexample subsets (heuristic "many_colors" = colors >= 3, predicts label 1; the label is colors >= 2). */
let expected: { disagree: { ids: string[]; accuracy: number }; agree: { ids: string[]; accuracy: number } };
/** Two-pass float64 r of every layer-0 neuron's max-over-positions activation with "colors". */
let pearsonMaxAct: Float64Array;

// max_abs_r scores of metric "m" for the comparison runs: [layer 0 neurons 0..5, layer 1 neurons 0..5]
const A = [[0.9, 0.1, -0.8, 0.05, 0.3, 0.0], [0.2, -0.7, 0.15, 0.02, 0.01, 0.6]];
const B = [[0.85, 0.2, -0.1, 0.05, 0.75, 0.0], [0.3, -0.8, 0.15, 0.02, 0.01, 0.4]];

type Gql<T> = { status: number; data?: T; errors?: { message: string; extensions: { code: string; field?: string; reason?: string } }[] };

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, authorized = false): Promise<Gql<T>> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorized ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

function assertOk(res: Gql<unknown>): void {
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
}

function errorCode(res: Gql<unknown>): string | undefined {
  return res.errors?.[0]?.extensions.code;
}

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-gql-causal-"));
  mkdirSync(join(dir, "data"));
  const dbPath = join(dir, "data", "db.duckdb");
  const store = await Store.open(dbPath);
  const manager = new RunManager(store, { leaderboardIntervalMs: 0 });
  const rows = readFileSync(join(planted, "task.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; text: string; label: number; colors: number; split: string });
  const taskId = await store.addTask({ name: "colours", source: "task.jsonl", template: "{text} question", verbalizer: { 0: "no", 1: "yes" } });
  // 40 val rows keep the causal forwards fast
  const kept = rows.filter((r) => r.split === "train").slice(0, 40).concat(rows.filter((r) => r.split === "val").slice(0, 40));
  valIds = kept.filter((r) => r.split === "val").map((r) => r.id);
  await store.addSamples(taskId, kept.map((r) => ({
    sampleId: r.id, split: r.split, fields: { text: r.text, colors: r.colors }, rendered: `${r.text} question`, answer: r.label ? "yes" : "no", label: String(r.label),
  })));
  const modelId = await store.addModel({ path: join(planted, "model"), family: "gpt2", config: {} });
  const run = await manager.start({ modelId, taskId, options: { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 3, seed: 1, threads: 1 } });
  await manager.whenIdle();
  await manager.close();
  assert.equal((await store.getRun(run.id)).status, "done");
  runId = run.id;
  // cancelled before it trained (a queued run would be started by the server)
  untrained = await store.createRun({ modelId, taskId, config: { options: {} } });
  await store.setRunStatus(untrained, "cancelled");

  // a 0/1 heuristic and the expected subsets from the stored outputs and label metric
  const outputs = await store.readSampleOutputs(runId);
  const colors = await store.readMetricAligned(runId, "colors");
  const labels = await store.readMetricAligned(runId, "label");
  const colorOf = new Map(colors.sampleId.map((id, i) => [id, colors.value[i]!]));
  const labelOf = new Map(labels.sampleId.map((id, i) => [id, labels.value[i]!]));
  const many = colors.sampleId.map((id) => (colorOf.get(id)! >= 3 ? 1 : 0));
  await store.writeMetric(runId, { name: "many_colors", kind: "heuristic", sampleId: colors.sampleId, value: Float64Array.from(many) });
  const subsets = { disagree: { ids: [] as string[], correct: 0 }, agree: { ids: [] as string[], correct: 0 } };
  outputs.sampleId.forEach((id, i) => {
    const fired = colorOf.get(id)! >= 3;
    const s = fired === (labelOf.get(id) === 1) ? subsets.agree : subsets.disagree;
    s.ids.push(id);
    s.correct += outputs.correct[i]!;
  });
  expected = {
    disagree: { ids: subsets.disagree.ids, accuracy: subsets.disagree.correct / subsets.disagree.ids.length },
    agree: { ids: subsets.agree.ids, accuracy: subsets.agree.correct / subsets.agree.ids.length },
  };

  // Pearson of the max-over-positions activation of every layer-0 neuron with "colors"
  const acts = await store.readActivations(runId, 0);
  const idOf = new Map(Array.from(outputs.sampleIdx, (idx, i) => [idx, outputs.sampleId[i]!]));
  const y = Float64Array.from(acts.sampleIdx, (idx) => colorOf.get(idOf.get(idx)!)!);
  const { positions: P, dFF: F } = acts;
  pearsonMaxAct = Float64Array.from({ length: F }, (_, f) =>
    pearson(Float64Array.from(acts.sampleIdx, (_, s) => Math.max(...Array.from({ length: P }, (_, p) => acts.data[(s * P + p) * F + f]!))), y));

  // hand-made score tables for seed stability and comparison
  const other = await store.addTask({ name: "other", source: "o.jsonl", template: "{x}", verbalizer: null });
  const table = async (task: number, t: number[][]) => {
    const id = await store.createRun({ modelId, taskId: task, config: { options: {} } });
    await store.writeScores(id, t.map((r, layer) => ({
      metric: "m", agg: "max_abs_r" as const, layer, position: Int32Array.from(r, (_, i) => i % 2), neuron: Int32Array.from(r, (_, i) => i), r: Float64Array.from(r),
    })));
    await store.writeMetric(id, { name: "m", kind: "column", sampleId: ["s0"], value: Float64Array.of(1) });
    // finished, so the server does not start them as queued runs
    await store.setRunStatus(id, "scoring");
    await store.setRunStatus(id, "done");
    return id;
  };
  scored.a = await table(taskId, A);
  scored.b = await table(taskId, B);
  scored.otherTask = await table(other, B);
  await store.close();

  server = await startServer({ dataDir: join(dir, "data"), dbPath, port: 0, modelRoots: [planted], dashboardDir: join(dir, "no-dashboard") });
  token = readFileSync(join(dir, "data", "token"), "utf8").trim();
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ABLATE = `mutation ($runId: ID!, $metric: String!, $k: Int, $mode: AblationMode, $draws: Int, $seed: Int, $layer: Int, $neurons: [ID!]) {
  ablateNeurons(runId: $runId, metric: $metric, k: $k, mode: $mode, randomDraws: $draws, seed: $seed, layer: $layer, neurons: $neurons) {
    runId metric mode positions seed sampleCount
    neurons { id layer index r position }
    baseline { name accuracy meanLoss meanKl samples(first: 1000) { sampleId loss correct kl prediction } }
    ablated { name neurons accuracy meanLoss meanKl changed }
    random { name neurons meanKl changed }
    deltas {
      kl { ablated { estimate low high } random { estimate low high } effect { estimate low high } z pRandom }
      accuracy { ablated { estimate } }
      loss { ablated { estimate } }
    }
  }
}`;

interface Ablation {
  ablateNeurons: {
    runId: string; metric: string; mode: string; positions: string; seed: number; sampleCount: number;
    neurons: { id: string; layer: number; index: number; r: number | null; position: number | null }[];
    baseline: { name: string; accuracy: number; meanLoss: number; meanKl: number; samples: { sampleId: string; loss: number; correct: boolean; kl: number; prediction: string }[] };
    ablated: { name: string; neurons: string[]; accuracy: number; meanLoss: number; meanKl: number; changed: number };
    random: { name: string; neurons: string[]; meanKl: number; changed: number }[];
    deltas: {
      kl: Record<"ablated" | "random" | "effect", { estimate: number; low: number | null; high: number | null }> & { z: number | null; pRandom: number };
      accuracy: { ablated: { estimate: number } };
      loss: { ablated: { estimate: number } };
    };
  };
}

describe("causal mutations", () => {
  it("need the bearer token", async () => {
    const res = await gql(ABLATE, { runId: String(runId), metric: "colors", k: 1, draws: 2 });
    assert.equal(errorCode(res), "UNAUTHENTICATED");
  });

  it("ablateNeurons: the planted colour neuron L0.N7 moves outputs far more than random neurons of its layer", async () => {
    const res = await gql<Ablation>(ABLATE, { runId: String(runId), metric: "colors", k: 1, mode: "ZERO", draws: 10, seed: 3 }, true);
    assertOk(res);
    const a = res.data!.ablateNeurons;
    assert.deepEqual([a.runId, a.metric, a.mode, a.positions, a.seed, a.sampleCount], [String(runId), "colors", "ZERO", "SOFT", 3, 40]);
    assert.equal(a.neurons.length, 1);
    assert.equal(a.neurons[0]!.id, "L0.N7");
    assert.ok(Math.abs(a.neurons[0]!.r!) > 0.9);
    assert.deepEqual(a.ablated.neurons, ["L0.N7"]);
    assert.equal(a.random.length, 10);
    for (const r of a.random) {
      assert.equal(r.neurons.length, 1);
      assert.match(r.neurons[0]!, /^L0\.N\d+$/);
      assert.notEqual(r.neurons[0], "L0.N7");
    }
    // per-sample page: validation order, and consistent with the condition's means
    const s = a.baseline.samples;
    assert.deepEqual(s.map((x) => x.sampleId), valIds);
    assert.ok(Math.abs(s.reduce((t, x) => t + x.loss, 0) / s.length - a.baseline.meanLoss) < 1e-9);
    assert.equal(s.filter((x) => x.correct).length / s.length, a.baseline.accuracy);
    assert.ok(s.every((x) => x.kl === 0), "baseline against itself has no KL");
    // deltas are condition minus baseline; the effect is far outside the random control
    assert.ok(Math.abs(a.deltas.accuracy.ablated.estimate - (a.ablated.accuracy - a.baseline.accuracy)) < 1e-12);
    assert.ok(Math.abs(a.deltas.loss.ablated.estimate - (a.ablated.meanLoss - a.baseline.meanLoss)) < 1e-9);
    const kl = a.deltas.kl;
    assert.ok(Math.abs(kl.ablated.estimate - a.ablated.meanKl) < 1e-9);
    assert.ok(kl.ablated.estimate > 100 * Math.max(...a.random.map((r) => r.meanKl)));
    assert.equal(kl.pRandom, 1 / 11);
    assert.ok(kl.effect.low! > 0 && kl.z! > 3, JSON.stringify(kl));
    assert.ok(kl.ablated.low! <= kl.ablated.estimate && kl.ablated.estimate <= kl.ablated.high!);
  });

  it("ablateNeurons without random draws answers null where an interval is undefined", async () => {
    const res = await gql<Ablation>(ABLATE, { runId: String(runId), metric: "colors", k: 2, mode: "MEAN", draws: 0, layer: 0 }, true);
    assertOk(res);
    const a = res.data!.ablateNeurons;
    assert.equal(a.neurons.length, 2);
    assert.equal(a.random.length, 0);
    assert.deepEqual(a.deltas.kl.random, { estimate: null, low: null, high: null });
    assert.equal(a.deltas.kl.z, null);
    assert.equal(a.deltas.kl.pRandom, 1);
  });

  it("ablateNeurons refuses bad requests with typed codes", async () => {
    const ask = (v: Record<string, unknown>) => gql(ABLATE, { runId: String(runId), metric: "colors", k: 1, draws: 1, ...v }, true);
    assert.equal(errorCode(await ask({ metric: "nope" })), "NOT_FOUND");
    const k0 = await ask({ k: 0 });
    assert.equal(errorCode(k0), "BAD_USER_INPUT");
    assert.match(k0.errors![0]!.message, /k/);
    assert.equal(errorCode(await ask({ runId: "999" })), "NOT_FOUND");
    assert.equal(errorCode(await ask({ runId: "x" })), "BAD_USER_INPUT");
    assert.equal(errorCode(await ask({ layer: -1 })), "BAD_USER_INPUT");
    const layer = await ask({ layer: 9 });
    assert.equal(errorCode(layer), "BAD_USER_INPUT");
    assert.match(layer.errors![0]!.message, /recorded layers 0, not 9/);
    const noPrompt = await ask({ runId: String(untrained) });
    assert.equal(errorCode(noPrompt), "CONFLICT");
    assert.equal(noPrompt.errors![0]!.extensions.reason, "BAD_STATE");
    // an enum value the schema does not have fails validation before anything runs
    assert.ok((await ask({ mode: "BOGUS" })).errors);
  });

  it("ablateNeurons with listed neurons: exactly that set, a whole layer without controls; bad lists are refused", async () => {
    const F = pearsonMaxAct.length;
    const ask = (v: Record<string, unknown>) => gql<Ablation>(ABLATE, { runId: String(runId), metric: "colors", mode: "ZERO", draws: 0, ...v }, true);
    const top = await ask({ k: 1 });
    const listed = await ask({ neurons: ["L0.N7"] });
    assertOk(top);
    assertOk(listed);
    // the same set as the metric's top-1, so the same outputs; a listed neuron carries no r
    assert.deepEqual(listed.data!.ablateNeurons.ablated, top.data!.ablateNeurons.ablated);
    assert.deepEqual(listed.data!.ablateNeurons.neurons, [{ id: "L0.N7", layer: 0, index: 7, r: null, position: null }]);
    const layer = await ask({ neurons: Array.from({ length: F }, (_, i) => `L0.N${i}`) });
    assertOk(layer);
    const a = layer.data!.ablateNeurons;
    assert.equal(a.neurons.length, F);
    assert.equal(a.ablated.neurons.length, F);
    assert.equal(a.random.length, 0);
    assert.ok(a.ablated.meanKl > 0);

    const refused = async (v: Record<string, unknown>, message: RegExp) => {
      const res = await ask(v);
      assert.equal(errorCode(res), "BAD_USER_INPUT", JSON.stringify(v));
      assert.match(res.errors![0]!.message, message);
    };
    await refused({ neurons: ["L0.N7"], layer: 0 }, /either `neurons` or `layer`/);
    await refused({ neurons: [] }, /list 1\.\.65536 neuron ids, got 0/);
    await refused({ neurons: ["L0.X7"] }, /"L0\.X7" is not a neuron id/);
    await refused({ neurons: ["L9.N0"] }, /recorded layers 0, not 9/);
    await refused({ neurons: [`L0.N${F}`] }, new RegExp(`neurons 0\\.\\.${F - 1}`));
    await refused({ neurons: ["L0.N1", "L0.N1"] }, /L0\.N1 appears twice/);
    await refused({ neurons: Array.from({ length: F }, (_, i) => `L0.N${i}`), draws: 1 }, /only 0 neurons outside the ablated set/);
  });

  it("steerNeuron: factor 1 is the identity, other factors move predictions; bad ids are refused", async () => {
    const q = `mutation ($id: ID!, $factors: [Float!]) { steerNeuron(runId: "${runId}", neuronId: $id, factors: $factors) {
      neuronId layer index positions sampleCount baseline { meanLoss meanGoldProb accuracy } factors { name factor changed meanLoss meanKl meanGoldProb } } }`;
    const res = await gql<{ steerNeuron: { neuronId: string; layer: number; index: number; positions: string; sampleCount: number; baseline: { meanLoss: number; meanGoldProb: number }; factors: { name: string; factor: number; changed: number; meanLoss: number; meanKl: number; meanGoldProb: number }[] } }>(
      q, { id: "L0.N7", factors: [1, -2, 3] }, true);
    assertOk(res);
    const s = res.data!.steerNeuron;
    assert.deepEqual([s.neuronId, s.layer, s.index, s.positions, s.sampleCount], ["L0.N7", 0, 7, "SOFT", 40]);
    assert.deepEqual(s.factors.map((f) => f.factor), [1, -2, 3]);
    assert.equal(s.factors[0]!.changed, 0);
    assert.equal(s.factors[0]!.meanLoss, s.baseline.meanLoss);
    assert.equal(s.factors[0]!.meanKl, 0);
    assert.ok(s.factors[1]!.meanKl > 0 && s.factors[2]!.meanKl > 0);
    assert.notEqual(s.factors[1]!.meanGoldProb, s.baseline.meanGoldProb);

    const bad = async (id: string, factors: number[] = [2]) => gql(q, { id, factors }, true);
    const malformed = await bad("L0N7");
    assert.equal(errorCode(malformed), "BAD_USER_INPUT");
    assert.equal(malformed.errors![0]!.extensions.field, "neuronId");
    assert.equal(errorCode(await bad("L0.N64")), "BAD_USER_INPUT"); // the planted model has 64 neurons per layer
    assert.equal(errorCode(await bad("L9.N1")), "BAD_USER_INPUT");
    assert.equal(errorCode(await bad("L0.N7", [])), "BAD_USER_INPUT");
  });
});

describe("comparison queries", () => {
  it("seedStability: top-K Jaccard and Spearman over the union, stable neurons (hand-computed)", async () => {
    const res = await gql<{ seedStability: { runIds: string[]; k: number; metrics: { metric: string; topK: { runId: string; neurons: string[] }[]; pairs: { runA: string; runB: string; jaccard: number; spearman: number }[]; meanJaccard: number; stable: { id: string; r: number[] }[] }[] } }>(
      `query ($ids: [ID!]!) { seedStability(runIds: $ids, k: 3) { runIds k metrics { metric topK { runId neurons } pairs { runA runB jaccard spearman } meanJaccard stable { id r } } } }`,
      { ids: [String(scored.a), String(scored.b)] },
    );
    assertOk(res);
    const s = res.data!.seedStability;
    assert.deepEqual(s.runIds, [String(scored.a), String(scored.b)]);
    assert.equal(s.metrics.length, 1);
    const m = s.metrics[0]!;
    assert.deepEqual(m.topK.map((t) => t.neurons), [["L0.N0", "L0.N2", "L1.N1"], ["L0.N0", "L1.N1", "L0.N4"]]);
    assert.equal(m.pairs[0]!.jaccard, 0.5);
    // union {L0.N0, L0.N2, L1.N1, L0.N4}: |r| A = .9 .8 .7 .3, B = .85 .1 .8 .75 -> rho = 1 - 6*6/(4*15) = 0.4
    assert.ok(Math.abs(m.pairs[0]!.spearman - 0.4) < 1e-12);
    assert.equal(m.meanJaccard, 0.5);
    assert.deepEqual(m.stable, [{ id: "L0.N0", r: [0.9, 0.85] }, { id: "L1.N1", r: [-0.7, -0.8] }]);

    const otherTask = await gql(`{ seedStability(runIds: ["${scored.a}", "${scored.otherTask}"]) { k } }`);
    assert.equal(errorCode(otherTask), "BAD_USER_INPUT");
    assert.equal(errorCode(await gql(`{ seedStability(runIds: ["${scored.a}"]) { k } }`)), "BAD_USER_INPUT");
  });

  it("compareRuns: shared top neurons, scatter pairs and per-layer shift", async () => {
    const res = await gql<{ compareRuns: { shared: { id: string; r: number[] }[]; scatter: { id: string; r: number[] }[]; layers: { layer: number; meanAbsR: number[]; ks: number[] }[] } }>(
      `{ compareRuns(runIds: ["${scored.a}", "${scored.otherTask}"], metric: "m", k: 3, scatterLimit: 3) { shared { id r } scatter { id r } layers { layer meanAbsR ks } } }`,
    );
    assertOk(res);
    const c = res.data!.compareRuns;
    assert.deepEqual(c.shared, [{ id: "L0.N0", r: [0.9, 0.85] }, { id: "L1.N1", r: [-0.7, -0.8] }]);
    // largest |r| in either run: L0.N0 (.9), L0.N2 (.8 in A), L1.N1 (.8 in B) -- ties by layer, neuron
    assert.deepEqual(c.scatter.map((p) => p.id), ["L0.N0", "L0.N2", "L1.N1"]);
    assert.deepEqual(c.layers.map((l) => l.layer), [0, 1]);
    const meanAbs = (v: number[]) => v.reduce((s, x) => s + Math.abs(x), 0) / v.length;
    assert.ok(Math.abs(c.layers[0]!.meanAbsR[0]! - meanAbs(A[0]!)) < 1e-12);
    assert.ok(Math.abs(c.layers[1]!.meanAbsR[1]! - meanAbs(B[1]!)) < 1e-12);
    assert.equal(c.layers[0]!.ks[0], 0);
    const missing = await gql(`{ compareRuns(runIds: ["${scored.a}", "${scored.b}"], metric: "zzz") { k } }`);
    assert.equal(errorCode(missing), "CONFLICT");
    assert.equal(errorCode(await gql(`{ compareRuns(runIds: ["${scored.a}", "${scored.b}"], metric: "m", scatterLimit: -1) { k } }`)), "BAD_USER_INPUT");
  });

  it("counterexamples: accuracy where the heuristic and the label disagree vs agree, from the stored outputs", async () => {
    const res = await gql<{ counterexamples: { heuristic: string; label: string; disagree: { count: number; accuracy: number; sampleIds: string[] }; agree: { count: number; accuracy: number; sampleIds: string[] } } }>(
      `{ counterexamples(runId: "${runId}", heuristic: "many_colors", predicts: 1) { heuristic label disagree { count accuracy sampleIds } agree { count accuracy sampleIds } } }`,
    );
    assertOk(res);
    const c = res.data!.counterexamples;
    assert.deepEqual([c.heuristic, c.label], ["many_colors", "label"]);
    assert.deepEqual(c.disagree.sampleIds, expected.disagree.ids);
    assert.deepEqual(c.agree.sampleIds, expected.agree.ids);
    assert.equal(c.disagree.count, 14); // label 1 (two colours) where the detector does not fire
    assert.equal(c.disagree.count + c.agree.count, 40);
    assert.ok(Math.abs(c.disagree.accuracy - expected.disagree.accuracy) < 1e-12, `${c.disagree.accuracy} vs ${expected.disagree.accuracy}`);
    assert.ok(Math.abs(c.agree.accuracy - expected.agree.accuracy) < 1e-12);
    // "colors" is a count, not a 0/1 detector
    assert.equal(errorCode(await gql(`{ counterexamples(runId: "${runId}", heuristic: "colors", predicts: 1) { label } }`)), "BAD_USER_INPUT");
    assert.equal(errorCode(await gql(`{ counterexamples(runId: "${runId}", heuristic: "nope", predicts: 1) { label } }`)), "NOT_FOUND");
  });

  it("alternativeScores: Pearson of the max activation matches a two-pass reference; the planted neuron tops every score", async () => {
    const res = await gql<{ alternativeScores: { samples: number; topK: { score: string; neurons: { id: string; index: number; pearson: number; spearman: number; mutualInformation: number; thresholdAccuracy: number | null }[] }[]; overlap: { a: string; b: string; jaccard: number }[] } }>(
      `{ alternativeScores(runId: "${runId}", metric: "colors", layer: 0, k: 5, maxOverPositions: true) { samples topK { score neurons { id index pearson spearman mutualInformation thresholdAccuracy } } overlap { a b jaccard } } }`,
    );
    assertOk(res);
    const a = res.data!.alternativeScores;
    assert.equal(a.samples, 40);
    // colors is a count: no threshold accuracy
    assert.deepEqual(a.topK.map((t) => t.score), ["PEARSON", "SPEARMAN", "MUTUAL_INFORMATION"]);
    for (const t of a.topK) {
      assert.equal(t.neurons.length, 5);
      assert.equal(t.neurons[0]!.id, "L0.N7", `${t.score} ranks ${t.neurons[0]!.id} first`);
      for (const n of t.neurons) {
        assert.ok(Math.abs(n.pearson - pearsonMaxAct[n.index]!) < 1e-6, `${n.id}: ${n.pearson} vs ${pearsonMaxAct[n.index]}`);
        assert.equal(n.thresholdAccuracy, null);
      }
    }
    const ranked = Array.from(pearsonMaxAct, (r, f) => [Math.abs(r), f] as const).sort((x, y) => y[0] - x[0]).slice(0, 5).map(([, f]) => f);
    assert.deepEqual(a.topK[0]!.neurons.map((n) => n.index), ranked);
    assert.deepEqual(a.overlap.map((o) => [o.a, o.b]), [["PEARSON", "SPEARMAN"], ["PEARSON", "MUTUAL_INFORMATION"], ["SPEARMAN", "MUTUAL_INFORMATION"]]);
    assert.ok(a.overlap.every((o) => o.jaccard > 0 && o.jaccard <= 1));

    const binary = await gql<{ alternativeScores: { topK: { score: string; neurons: { thresholdAccuracy: number | null }[] }[] } }>(
      `{ alternativeScores(runId: "${runId}", metric: "many_colors", layer: 0, k: 3, position: 1) { topK { score neurons { thresholdAccuracy } } } }`,
    );
    assertOk(binary);
    const thr = binary.data!.alternativeScores.topK.find((t) => t.score === "THRESHOLD_ACCURACY");
    assert.ok(thr && thr.neurons.every((n) => n.thresholdAccuracy! >= 0 && n.thresholdAccuracy! <= 1));
    assert.equal(errorCode(await gql(`{ alternativeScores(runId: "${runId}", metric: "colors", layer: 7) { samples } }`)), "BAD_USER_INPUT");
    assert.equal(errorCode(await gql(`{ alternativeScores(runId: "${runId}", metric: "colors", layer: 0, bins: 1) { samples } }`)), "BAD_USER_INPUT");
    assert.equal(errorCode(await gql(`{ alternativeScores(runId: "${runId}", metric: "colors", layer: 0, position: 1, maxOverPositions: true) { samples } }`)), "BAD_USER_INPUT");
  });
});
