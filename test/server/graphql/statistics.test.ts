import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Prng } from "../../../server/analysis/prng.js";
import { startServer, type RunningServer } from "../../../server/http/server.js";
import { scoreFromStoredActivations, writeCorrelations } from "../../../server/runs/scoring.js";
import { Store } from "../../../server/store/store.js";

/**
 * What a reader sees is what the ranking measured, over real HTTP and a real DuckDB store. A run of
 * N validation samples (inserted between training rows, ids in no order, the metric written in a
 * shuffled order), P positions with correlated activations, F neurons. Neuron 0 is planted so that
 * its best position (3) anti-correlates with the metric while its max over positions correlates
 * positively. Every expected value is recomputed here from the raw arrays, by sample id.
 */
const N = 240;
const P = 6;
const F = 300;
const PLANTED = 0;
const PLANTED_POSITION = 3;

let dir: string;
let server: RunningServer;
let token: string;
let runId: number;
/** [N, P, F] by ordinal (the order the val rows were added). */
let acts: Float32Array;
/** metric by ordinal */
let overlap: Float64Array;
let valIds: string[];

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]!; my += y[i]!; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += (x[i]! - mx) * (y[i]! - my); sxx += (x[i]! - mx) ** 2; syy += (y[i]! - my) ** 2; }
  return sxy / Math.sqrt(sxx * syy);
}

const column = (p: number, f: number): Float64Array => Float64Array.from({ length: N }, (_, s) => acts[(s * P + p) * F + f]!);
const maxColumn = (f: number): Float64Array => Float64Array.from({ length: N }, (_, s) => Math.max(...Array.from({ length: P }, (_, p) => acts[(s * P + p) * F + f]!)));

async function gql<T>(query: string, variables: Record<string, unknown> = {}, authorized = false): Promise<{ data?: T; errors?: { message: string; extensions: { code: string } }[] }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorized ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as never;
}

async function ok<T>(query: string, variables: Record<string, unknown> = {}, authorized = false): Promise<T> {
  const res = await gql<T>(query, variables, authorized);
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  return res.data!;
}

interface Score { index: number; r: number; bestPosition: number; pAtPosition: number | null; pCorrected: number | null }

async function allScores(metric: string): Promise<Score[]> {
  const out: Score[] = [];
  for (let after: string | null = null; ; ) {
    const page: { neurons: { edges: { node: Score }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await ok(
      `query ($r: ID!, $m: String!, $a: String) { neurons(runId: $r, metric: $m, first: 1000, after: $a) {
        edges { node { index r bestPosition pAtPosition pCorrected } } pageInfo { hasNextPage endCursor } } }`,
      { r: String(runId), m: metric, a: after },
    );
    out.push(...page.neurons.edges.map((e) => e.node));
    if (!page.neurons.pageInfo.hasNextPage) return out;
    after = page.neurons.pageInfo.endCursor;
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-statistics-"));
  const rng = new Prng(17);
  overlap = Float64Array.from({ length: N }, () => rng.nextGaussian());
  // ids in no particular order: v-ids drawn from a shuffle
  const names = Array.from({ length: N }, (_, i) => i);
  rng.shuffle(names);
  valIds = names.map((k) => `v${k}`);
  acts = new Float32Array(N * P * F);
  for (let s = 0; s < N; s++) {
    for (let f = 0; f < F; f++) {
      let prev = 0;
      for (let p = 0; p < P; p++) {
        prev = p === 0 ? rng.nextGaussian() : 0.7 * prev + Math.sqrt(1 - 0.49) * rng.nextGaussian();
        acts[(s * P + p) * F + f] = prev;
      }
    }
    // the last neuron is constant at position 0 (an undefined r there)
    acts[(s * P + 0) * F + F - 1] = 0.5;
    // planted: strongly negative at its best position, positive (and larger) everywhere else
    for (let p = 0; p < P; p++) {
      acts[(s * P + p) * F + PLANTED] = p === PLANTED_POSITION ? -overlap[s]! + 0.2 * rng.nextGaussian() : 4 + 0.8 * overlap[s]! + 1.2 * rng.nextGaussian();
    }
  }

  const store = await Store.open(join(dir, "db.duckdb"));
  const modelId = await store.addModel({ path: "/models/none", family: "gpt2", config: {} });
  const taskId = await store.addTask({ name: "ordinals", source: "<inline>", template: "{text}", verbalizer: null });
  // val rows arrive in three calls between training rows: ordinals continue across calls
  const row = (id: string, split: string) => ({ sampleId: id, split, fields: { text: id }, rendered: id, answer: "a", label: null });
  for (const [from, to] of [[0, 100], [100, 101], [101, N]] as const) {
    await store.addSamples(taskId, [row(`t${from}`, "train"), ...valIds.slice(from, to).map((id) => row(id, "val")), row(`t${to}`, "train")]);
  }
  runId = await store.createRun({ modelId, taskId, config: { options: {} } });
  await store.setRunStatus(runId, "extracting");
  await store.updateRun(runId, { layers: [0], neuronDefinition: "synthetic" });
  // activations in two batches of interleaved ordinals
  const cols = P * F;
  for (const parity of [1, 0]) {
    const idx = Int32Array.from({ length: N / 2 }, (_, i) => 2 * i + parity);
    const data = new Float32Array(idx.length * cols);
    idx.forEach((s, i) => data.set(acts.subarray(s * cols, (s + 1) * cols), i * cols));
    await store.ingestActivations(runId, { shard: 0, batchId: `b${parity}`, layer: 0, sampleIdx: idx, nPositions: P, dFF: F, data });
  }
  const ordinal = Int32Array.from({ length: N }, (_, i) => i);
  await store.writeSampleOutputs(runId, {
    sampleIdx: ordinal, sampleId: valIds, loss: new Float64Array(N).fill(1), goldProb: new Float64Array(N).fill(0.5),
    confidence: new Float64Array(N).fill(0.5), prediction: valIds.map(() => "a"), correct: new Uint8Array(N).fill(1),
  });
  // the metric written in a shuffled order: alignment must go through sample identity
  const order = Array.from({ length: N }, (_, i) => i);
  rng.shuffle(order);
  await store.writeMetric(runId, { name: "overlap", kind: "heuristic", sampleId: order.map((i) => valIds[i]!), value: Float64Array.from(order, (i) => overlap[i]!) });
  const aligned = await store.readMetricAligned(runId, "overlap");
  await writeCorrelations(store, runId, "overlap", await scoreFromStoredActivations(store, runId, "overlap", aligned.value, [0]));
  await store.setRunStatus(runId, "done");
  await store.close();
  server = await startServer({ dataDir: dir, dbPath: join(dir, "db.duckdb"), port: 0, dashboardDir: join(dir, "none") });
  token = (await readFile(join(dir, "token"), "utf8")).trim();
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("1. samples and histograms read the neuron's best position", () => {
  it("the planted neuron: best position anti-correlates, its max over positions correlates the other way", () => {
    const rs = Array.from({ length: P }, (_, p) => pearson(column(p, PLANTED), overlap));
    const best = rs.reduce((b, r, p) => (Math.abs(r) > Math.abs(rs[b]!) ? p : b), 0);
    assert.equal(best, PLANTED_POSITION);
    assert.ok(rs[best]! < -0.9, `r at best = ${rs[best]}`);
    assert.ok(pearson(maxColumn(PLANTED), overlap) > 0.3, `r of max over positions = ${pearson(maxColumn(PLANTED), overlap)}`);
  });

  it("extremalSamples and activationHistogram default to the best position for the metric and say so", async () => {
    type S = { sampleId: string; activation: number; reading: string; position: number | null; metrics: { value: number }[] };
    const data = await ok<{ neuron: { high: S[]; low: S[]; activationHistogram: { edges: number[]; counts: number[]; reading: string; position: number } } }>(
      `query ($r: ID!) { neuron(runId: $r, layer: 0, index: ${PLANTED}) {
        high: extremalSamples(direction: HIGH, k: 5, metric: "overlap") { sampleId activation reading position metrics(names: ["overlap"]) { value } }
        low: extremalSamples(direction: LOW, k: 5, metric: "overlap") { sampleId activation reading position }
        activationHistogram(metric: "overlap", bins: 4) { edges counts reading position } } }`,
      { r: String(runId) },
    );
    const x = column(PLANTED_POSITION, PLANTED);
    const sorted = Array.from(x, (v, s) => ({ id: valIds[s]!, v })).sort((a, b) => b.v - a.v);
    assert.deepEqual(data.neuron.high.map((s) => [s.sampleId, s.activation]), sorted.slice(0, 5).map((o) => [o.id, Math.fround(o.v)]));
    assert.deepEqual(data.neuron.low.map((s) => s.sampleId), sorted.slice(-5).reverse().map((o) => o.id));
    for (const s of [...data.neuron.high, ...data.neuron.low]) assert.deepEqual([s.reading, s.position], ["BEST_POSITION", PLANTED_POSITION]);
    // each sample's metric value is its own (by id), though the metric was written in another order
    const byId = new Map(valIds.map((id, s) => [id, overlap[s]!]));
    for (const s of data.neuron.high) assert.equal(s.metrics[0]!.value, byId.get(s.sampleId));
    // the highest activations at the best position are the lowest overlaps: r < 0 read the right way
    assert.ok(data.neuron.high.every((s) => s.metrics[0]!.value < 0));
    const h = data.neuron.activationHistogram;
    assert.deepEqual([h.reading, h.position], ["BEST_POSITION", PLANTED_POSITION]);
    assert.equal(h.edges[0], Math.min(...Array.from(x, Math.fround)));
    assert.equal(h.counts.reduce((a, b) => a + b, 0), N);
  });

  it("max over positions is explicit, says where each sample peaked, and contradictory or empty requests are refused", async () => {
    type S = { sampleId: string; activation: number; reading: string; position: number };
    const data = await ok<{ neuron: { extremalSamples: S[]; activationHistogram: { reading: string; position: number | null } } }>(
      `query ($r: ID!) { neuron(runId: $r, layer: 0, index: ${PLANTED}) {
        extremalSamples(direction: HIGH, k: 4, maxOverPositions: true) { sampleId activation reading position }
        activationHistogram(maxOverPositions: true) { reading position } } }`,
      { r: String(runId) },
    );
    const m = maxColumn(PLANTED);
    const sorted = Array.from(m, (v, s) => ({ s, v })).sort((a, b) => b.v - a.v).slice(0, 4);
    assert.deepEqual(data.neuron.extremalSamples.map((e) => e.sampleId), sorted.map((o) => valIds[o.s]));
    data.neuron.extremalSamples.forEach((e, i) => {
      assert.equal(e.reading, "MAX_OVER_POSITIONS");
      assert.equal(acts[(sorted[i]!.s * P + e.position) * F + PLANTED], e.activation, "position is where the sample peaked");
    });
    assert.deepEqual(data.neuron.activationHistogram, { reading: "MAX_OVER_POSITIONS", position: null });
    for (const args of ["", "position: 1, maxOverPositions: true"]) {
      const res = await gql(`{ neuron(runId: "${runId}", layer: 0, index: ${PLANTED}) { extremalSamples(k: 2 ${args ? `, ${args}` : ""}) { sampleId } } }`);
      assert.equal(res.errors?.[0]?.extensions.code, "BAD_USER_INPUT", args);
    }
    const at = await ok<{ neuron: { activationHistogram: { reading: string; position: number } } }>(
      `{ neuron(runId: "${runId}", layer: 0, index: ${PLANTED}) { activationHistogram(position: 1, metric: "overlap") { reading position } } }`,
    );
    assert.deepEqual(at.neuron.activationHistogram, { reading: "POSITION", position: 1 });
  });

  it("alternativeScores reads each neuron at its best position by default (its pearson is the ranked r); max over positions only when asked", async () => {
    type A = { reading: string; topK: { score: string; neurons: { index: number; position: number | null; pearson: number }[] }[] };
    const query = (args: string) => ok<{ alternativeScores: A }>(
      `{ alternativeScores(runId: "${runId}", metric: "overlap", layer: 0, k: ${F}${args}) { reading topK { score neurons { index position pearson } } } }`,
    );
    const best = (await query("")).alternativeScores;
    assert.equal(best.reading, "BEST_POSITION");
    const byIndex = new Map(best.topK.find((t) => t.score === "PEARSON")!.neurons.map((n) => [n.index, n]));
    const planted = byIndex.get(PLANTED)!;
    assert.equal(planted.position, PLANTED_POSITION);
    assert.ok(Math.abs(planted.pearson - pearson(column(PLANTED_POSITION, PLANTED), overlap)) < 1e-6 && planted.pearson < -0.9, `planted pearson ${planted.pearson}`);
    // every neuron: read where its own |r| over positions peaks, recomputed here from the raw activations
    for (const f of [1, 2, 50, 299]) {
      const rs = Array.from({ length: P }, (_, p) => pearson(column(p, f), overlap));
      const at = rs.map((r, p) => [Math.abs(r), p] as const).filter(([a]) => Number.isFinite(a)).sort((a, b) => b[0] - a[0])[0]![1];
      assert.equal(byIndex.get(f)!.position, at, `L0.N${f} read at its best position`);
      assert.ok(Math.abs(byIndex.get(f)!.pearson - rs[at]!) < 1e-6);
    }
    const max = (await query(", maxOverPositions: true")).alternativeScores;
    assert.equal(max.reading, "MAX_OVER_POSITIONS");
    const plantedMax = max.topK.find((t) => t.score === "PEARSON")!.neurons.find((n) => n.index === PLANTED)!;
    assert.equal(plantedMax.position, null);
    assert.ok(plantedMax.pearson > 0.3, `max over positions reverses the sign: ${plantedMax.pearson}`);
  });
});

describe("2. position-corrected p-values", () => {
  it("pCorrected is Sidak over P of the best position's p, and pAtPosition is r's own p", async () => {
    const scores = await allScores("overlap");
    assert.equal(scores.length, F);
    for (const s of scores.slice(0, 40)) {
      const rs = Array.from({ length: P }, (_, p) => pearson(column(p, s.index), overlap));
      const best = rs.reduce((b, r, p) => (Math.abs(r) > Math.abs(rs[b]!) ? p : b), 0);
      assert.equal(s.bestPosition, best);
      assert.ok(Math.abs(s.r - rs[best]!) < 1e-6);
      assert.ok(Math.abs(s.pCorrected! - (1 - (1 - s.pAtPosition!) ** P)) <= 1e-12 + 1e-9 * s.pCorrected!, `L0.N${s.index}`);
      assert.ok(s.pCorrected! >= s.pAtPosition!);
    }
  });

  it("neuron.score is the stored score the ranking listed, with the neuron's rank among all of them", async () => {
    const scores = await allScores("overlap");
    for (const rank of [1, 2, 17, scores.length]) {
      const s = scores[rank - 1]!;
      const { neuron } = await ok<{ neuron: { score: Score & { rank: number } } }>(
        `query ($r: ID!, $i: Int!) { neuron(runId: $r, layer: 0, index: $i) { score(metric: "overlap") { index r bestPosition pAtPosition pCorrected rank } } }`,
        { r: String(runId), i: s.index },
      );
      assert.deepEqual(neuron.score, { ...s, rank });
    }
  });

  it("a Gaussian noise metric added after the fact: at most 6% of neurons at pCorrected < 0.05 (uncorrected: far more); BH runs on pCorrected", async () => {
    const rng = new Prng(99);
    const values = valIds.map((id) => ({ sampleId: id, value: rng.nextGaussian() }));
    await ok(`mutation ($v: [SampleValueInput!]!) { addMetric(runId: "${runId}", name: "noise", values: $v) { name } }`, { v: values }, true);
    const scores = (await allScores("noise")).filter((s) => s.pCorrected !== null);
    const share = (key: "pCorrected" | "pAtPosition") => scores.filter((s) => s[key]! < 0.05).length / scores.length;
    assert.ok(scores.length >= F - 1);
    assert.ok(share("pCorrected") <= 0.06, `pCorrected < 0.05 for ${share("pCorrected")} of neurons`);
    assert.ok(share("pAtPosition") > 0.1, `pAtPosition < 0.05 for ${share("pAtPosition")} of neurons (the uncorrected reading)`);
    // Benjamini-Hochberg over the neurons' pCorrected, recomputed here
    const bh = (ps: number[], q: number) => {
      const sorted = [...ps].sort((a, b) => a - b);
      let k = 0;
      sorted.forEach((p, i) => { if (p <= ((i + 1) * q) / sorted.length) k = i + 1; });
      return k;
    };
    for (const metric of ["noise", "overlap"]) {
      const sig = await ok<{ significance: { neuronTests: number; neuronDiscoveries: number; layers: { observed: number[]; expectedNull: number[] }[] } }>(
        `{ significance(runId: "${runId}", metric: "${metric}", permutations: 20) { neuronTests neuronDiscoveries layers { observed expectedNull } } }`,
      );
      const ps = (await allScores(metric)).map((s) => s.pCorrected!).filter((p) => p !== null);
      const { layers, ...counts } = sig.significance;
      assert.deepEqual(counts, { neuronTests: ps.length, neuronDiscoveries: bh(ps, 0.05) }, metric);
      // the null curve expects as many pairs as have an r: all but the constant neuron's position 0
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      assert.equal(sum(layers[0]!.observed), P * F - 1);
      assert.ok(Math.abs(sum(layers[0]!.expectedNull) - (P * F - 1)) < 1e-6 * P * F, `${metric}: null expects ${sum(layers[0]!.expectedNull)} pairs`);
    }
  });
});

describe("7. sample identity", () => {
  it("correlations and alternative scores pair each activation with its own sample's metric value", async () => {
    const data = await ok<{ neuron: { correlations: { position: number; r: number }[] } }>(
      `{ neuron(runId: "${runId}", layer: 0, index: 5) { correlations(metric: "overlap") { position r } } }`,
    );
    for (const c of data.neuron.correlations) assert.ok(Math.abs(c.r - pearson(column(c.position, 5), overlap)) < 1e-6, `position ${c.position}`);
    const alt = await ok<{ alternativeScores: { topK: { score: string; neurons: { index: number; pearson: number }[] }[] } }>(
      `{ alternativeScores(runId: "${runId}", metric: "overlap", layer: 0, position: ${PLANTED_POSITION}, k: 20) { topK { score neurons { index pearson } } } }`,
    );
    const neurons = alt.alternativeScores.topK.flatMap((t) => t.neurons);
    assert.ok(neurons.length >= 20);
    for (const n of neurons) {
      assert.ok(Math.abs(n.pearson - pearson(column(PLANTED_POSITION, n.index), overlap)) < 1e-6, `L0.N${n.index}`);
    }
  });
});

describe("4. undefined correlations say why", () => {
  it("a constant neuron, a constant metric and too few values each give their reason, not a bare null", async () => {
    const add = (name: string, ids: string[], value: (i: number) => number) =>
      ok(`mutation ($v: [SampleValueInput!]!) { addMetric(runId: "${runId}", name: "${name}", values: $v) { name } }`, { v: ids.map((id, i) => ({ sampleId: id, value: value(i) })) }, true);
    await add("constant", valIds, () => 1);
    await add("two_values", valIds.slice(0, 2), (i) => i);
    type C = { position: number; r: number | null; undefinedBecause: string | null };
    const read = async (index: number, metric: string) =>
      (await ok<{ neuron: { correlations: C[] } }>(`{ neuron(runId: "${runId}", layer: 0, index: ${index}) { correlations(metric: "${metric}") { position r undefinedBecause } } }`)).neuron.correlations;
    const lastNeuron = await read(F - 1, "overlap");
    assert.deepEqual(lastNeuron[0], { position: 0, r: null, undefinedBecause: "CONSTANT_ACTIVATION" });
    assert.ok(lastNeuron.slice(1).every((c) => c.r !== null && c.undefinedBecause === null));
    assert.ok((await read(2, "constant")).every((c) => c.r === null && c.undefinedBecause === "CONSTANT_METRIC"));
    assert.ok((await read(2, "two_values")).every((c) => c.r === null && c.undefinedBecause === "TOO_FEW_SAMPLES"));
  });
});
