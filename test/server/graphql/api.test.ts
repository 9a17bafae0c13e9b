import "reflect-metadata";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getIntrospectionQuery } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { startServer, type RunningServer } from "../../../server/http/server.js";
import { pearsonPValue } from "../../../server/analysis/index.js";
import { Store } from "../../../server/store/store.js";

/**
 * The API over real HTTP against a real DuckDB store seeded with a small run:
 * N samples, P positions, F neurons in layers 0 and 1; neuron L1.N2 at position 1 is planted
 * to follow the label. Expected values come from float64 two-pass formulas in this file.
 */
const N = 40;
const P = 3;
const F = 4;
const LAYERS = [0, 1];

let dir: string;
let server: RunningServer;
let token: string;
let runId: number;
let acts: Float32Array[]; // per layer [N, P, F]
let label: Float64Array;
let sampleIds: string[];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Two-pass float64 Pearson r. */
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

function column(layer: number, position: number, neuron: number): Float64Array {
  return Float64Array.from({ length: N }, (_, s) => acts[layer]![s * P * F + position * F + neuron]!);
}

async function gql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  authorized = false,
): Promise<{ status: number; data?: T; errors?: { message: string; extensions: { code: string } }[] }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorized ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

/** A 200 answer without errors (the errors are the failure message). */
function assertOk(res: { status: number; errors?: unknown }): void {
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  assert.equal(res.status, 200);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-api-"));
  const dbPath = join(dir, "data", "db.duckdb");
  await mkdir(join(dir, "data"), { recursive: true });
  const rand = mulberry32(7);
  label = Float64Array.from({ length: N }, () => (rand() < 0.5 ? 0 : 1));
  sampleIds = Array.from({ length: N }, (_, i) => `s${i}`);
  acts = LAYERS.map(() => Float32Array.from({ length: N * P * F }, () => rand() * 2 - 1));
  for (let s = 0; s < N; s++) acts[1]![s * P * F + 1 * F + 2] = label[s]! * 2 + (rand() - 0.5) * 0.5;

  const store = await Store.open(dbPath);
  const modelId = await store.addModel({ path: "/models/tiny", family: "gpt2", config: { n_layer: 2 } });
  const taskId = await store.addTask({ name: "sst-tiny", source: "<inline>", template: "Review: {text}", verbalizer: { "0": "negative", "1": "positive" } });
  await store.addSamples(
    taskId,
    sampleIds.map((id, i) => ({ sampleId: id, split: "val", fields: { text: `text ${i}` }, rendered: `Review: text ${i}`, answer: label[i] ? "positive" : "negative", label: String(label[i]) })),
  );
  runId = await store.createRun({ modelId, taskId, config: { softTokens: P } });
  await store.setRunStatus(runId, "extracting");
  await store.updateRun(runId, { layers: LAYERS, neuronDefinition: "act(c_fc(x))" });
  const sampleIdx = Int32Array.from({ length: N }, (_, i) => i);
  await store.writeSampleOutputs(runId, {
    sampleIdx,
    sampleId: sampleIds,
    loss: Float64Array.from({ length: N }, (_, i) => 0.1 * i),
    goldProb: new Float64Array(N).fill(0.5),
    confidence: new Float64Array(N).fill(0.6),
    prediction: sampleIds.map((_, i) => (i % 3 === 0 ? "positive" : "negative")),
    correct: Uint8Array.from({ length: N }, (_, i) => i % 2),
  });
  for (const layer of LAYERS) {
    await store.ingestActivations(runId, { shard: 0, batchId: `b${layer}`, layer, sampleIdx, nPositions: P, dFF: F, data: acts[layer]! });
  }
  await store.writeMetric(runId, { name: "label", kind: "builtin", sampleId: sampleIds, value: label });
  // Scores as the scoring stage writes them: r and p at every position, and max |r| over positions with its position.
  await store.writeScores(
    runId,
    LAYERS.flatMap((layer) => Array.from({ length: P }, (_, position) => {
      const r = Float64Array.from({ length: F }, (_, f) => pearson(column(layer, position, f), label));
      return { metric: "label", agg: "position" as const, layer, position, neuron: Int32Array.from({ length: F }, (_, f) => f), r, p: r.map((v) => pearsonPValue(v, N)) };
    })),
  );
  await store.writeScores(
    runId,
    LAYERS.map((layer) => {
      const best = Array.from({ length: F }, (_, f) => {
        const rs = Array.from({ length: P }, (_, p) => pearson(column(layer, p, f), label));
        const argmax = rs.reduce((bi, r, i) => (Math.abs(r) > Math.abs(rs[bi]!) ? i : bi), 0);
        return { r: rs[argmax]!, position: argmax };
      });
      return {
        metric: "label",
        agg: "max_abs_r" as const,
        layer,
        position: Int32Array.from(best, (b) => b.position),
        neuron: Int32Array.from({ length: F }, (_, f) => f),
        r: Float64Array.from(best, (b) => b.r),
      };
    }),
  );
  // Stored as the run manager stores the runner's progress: the payload without a sequence number, which is the row's.
  await store.appendEvents(runId, [
    { seq: 1, payload: { phase: "training", step: 10, totalSteps: 20, epoch: 1, loss: 0.7, lr: 0.01, tokensPerSec: 99, etaSec: 1, valLoss: 0.9 } },
    { seq: 2, payload: { phase: "training", step: 20, totalSteps: 20, epoch: 2, loss: 0.5, lr: 0.01, tokensPerSec: 98, etaSec: 0, valLoss: 0.8 } },
  ]);
  await store.setRunStatus(runId, "done");
  await store.close();

  server = await startServer({ dataDir: join(dir, "data"), dbPath, port: 0, dashboardDir: join(dir, "no-dashboard") });
  token = (await readFile(join(dir, "data", "token"), "utf8")).trim();
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("queries over the store", () => {
  it("answers the standard introspection query under the default limits", async () => {
    const res = await gql<{ __schema: { queryType: { name: string } } }>(getIntrospectionQuery());
    assertOk(res);
    assert.equal(res.data!.__schema.queryType.name, "Query");
  });

  it("lists runs with status filter and cursor pagination", async () => {
    const all = await gql<{ runs: { totalCount: number; edges: { node: { id: string; status: string; layers: number[]; model: { family: string }; task: { name: string } } }[] } }>(
      "{ runs(first: 10) { totalCount edges { node { id status layers model { family } task { name } } } } }",
    );
    assertOk(all);
    assert.equal(all.data!.runs.totalCount, 1);
    assert.deepEqual(all.data!.runs.edges[0]!.node, { id: String(runId), status: "DONE", layers: LAYERS, model: { family: "gpt2" }, task: { name: "sst-tiny" } });
    const none = await gql<{ runs: { totalCount: number } }>("{ runs(status: [FAILED, QUEUED]) { totalCount } }");
    assert.equal(none.data!.runs.totalCount, 0);
  });

  it("ranks neurons by |r| and pages with after", async () => {
    const q = `query ($after: String) { neurons(runId: "${runId}", metric: "label", first: 3, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id layer index r bestPosition rank } } } }`;
    type Page = { neurons: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: { id: string; r: number; rank: number; bestPosition: number } }[] } };
    const first = await gql<Page>(q);
    assertOk(first);
    const page1 = first.data!.neurons;
    assert.equal(page1.totalCount, LAYERS.length * F);
    assert.equal(page1.edges[0]!.node.id, "L1.N2");
    assert.equal(page1.edges[0]!.node.bestPosition, 1);
    assert.ok(Math.abs(page1.edges[0]!.node.r - pearson(column(1, 1, 2), label)) < 1e-9);
    const second = await gql<Page>(q, { after: page1.pageInfo.endCursor });
    const ranks = [...page1.edges, ...second.data!.neurons.edges].map((e) => e.node.rank);
    assert.deepEqual(ranks, [1, 2, 3, 4, 5, 6]);
    const absR = [...page1.edges, ...second.data!.neurons.edges].map((e) => Math.abs(e.node.r));
    assert.deepEqual(absR, [...absR].sort((a, b) => b - a));
  });

  it("refuses first: 5000 with BAD_USER_INPUT naming the limit", async () => {
    const res = await gql(`{ neurons(runId: "${runId}", metric: "label", first: 5000) { totalCount } }`);
    assert.equal(res.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    assert.match(res.errors![0]!.message, /first: 5000 is above the page limit of 1000/);
  });

  it("names the known metrics when asked for an unknown one", async () => {
    const res = await gql(`{ neurons(runId: "${runId}", metric: "nope") { totalCount } }`);
    assert.equal(res.errors?.[0]?.extensions.code, "NOT_FOUND");
    assert.match(res.errors![0]!.message, /has no metric "nope"; it has: label/);
  });

  it("reports an unknown run as NOT_FOUND and a malformed id as BAD_USER_INPUT", async () => {
    assert.equal((await gql(`{ run(id: "999") { id } }`)).errors?.[0]?.extensions.code, "NOT_FOUND");
    assert.equal((await gql(`{ run(id: "x1") { id } }`)).errors?.[0]?.extensions.code, "BAD_USER_INPUT");
  });

  it("reads a neuron's per-position correlations from the stored scores", async () => {
    const res = await gql<{ neuron: { id: string; correlations: { position: number; r: number; p: number; samples: number }[] } }>(
      `{ neuron(runId: "${runId}", layer: 1, index: 2) { id correlations(metric: "label") { position r p: pAtPosition samples } } }`,
    );
    assertOk(res);
    const c = res.data!.neuron.correlations;
    assert.equal(res.data!.neuron.id, "L1.N2");
    assert.equal(c.length, P);
    for (const { position, r, p, samples } of c) {
      assert.ok(Math.abs(r - pearson(column(1, position, 2), label)) < 1e-9, `position ${position}`);
      assert.equal(samples, N);
      assert.ok(p >= 0 && p <= 1);
    }
    assert.ok(c[1]!.p < 1e-10, "the planted position is significant");
  });

  it("returns extremal samples with their text, answer, prediction and metric values", async () => {
    type Res = { neuron: { high: { rank: number; sampleId: string; activation: number; text: string; answer: string; prediction: string; correct: boolean; metrics: { name: string; value: number }[] }[]; low: { sampleId: string }[] } };
    const res = await gql<Res>(`{ neuron(runId: "${runId}", layer: 0, index: 3) {
      high: extremalSamples(direction: HIGH, k: 3, position: 2) { rank sampleId activation text answer prediction correct metrics { name value } }
      low: extremalSamples(direction: LOW, k: 2, maxOverPositions: true) { sampleId } } }`);
    assertOk(res);
    const byActivation = (p: number | null) =>
      Array.from({ length: N }, (_, s) => ({ s, v: p === null ? Math.max(...Array.from({ length: P }, (_, q) => column(0, q, 3)[s]!)) : column(0, p, 3)[s]! }));
    const high = byActivation(2).sort((a, b) => b.v - a.v).slice(0, 3);
    assert.deepEqual(res.data!.neuron.high.map((h) => h.sampleId), high.map((h) => `s${h.s}`));
    const top = res.data!.neuron.high[0]!;
    const s = high[0]!.s;
    assert.deepEqual(
      { rank: top.rank, activation: top.activation, text: top.text, answer: top.answer, prediction: top.prediction, correct: top.correct, metrics: top.metrics },
      { rank: 1, activation: high[0]!.v, text: `Review: text ${s}`, answer: label[s] ? "positive" : "negative", prediction: s % 3 === 0 ? "positive" : "negative", correct: s % 2 === 1, metrics: [{ name: "label", value: label[s] }] },
    );
    const low = byActivation(null).sort((a, b) => a.v - b.v).slice(0, 2);
    assert.deepEqual(res.data!.neuron.low.map((h) => h.sampleId), low.map((h) => `s${h.s}`));
  });

  it("bins activations and correlations", async () => {
    const res = await gql<{ neuron: { activationHistogram: { edges: number[]; counts: number[] } }; correlationHistogram: { edges: number[]; counts: number[]; undefinedCount: number } }>(
      `{ neuron(runId: "${runId}", layer: 1, index: 2) { activationHistogram(position: 1, bins: 5) { edges counts } }
         correlationHistogram(runId: "${runId}", metric: "label", layer: 1, bins: 4) { edges counts undefinedCount } }`,
    );
    assertOk(res);
    const ah = res.data!.neuron.activationHistogram;
    const x = column(1, 1, 2);
    assert.equal(ah.counts.reduce((a, b) => a + b, 0), N);
    assert.equal(ah.edges[0], Math.min(...x));
    assert.equal(ah.edges[5], Math.max(...x));
    const ch = res.data!.correlationHistogram;
    assert.deepEqual(ch.edges, [-1, -0.5, 0, 0.5, 1]);
    const expected = [0, 0, 0, 0];
    for (let f = 0; f < F; f++) {
      const rs = Array.from({ length: P }, (_, p) => pearson(column(1, p, f), label));
      const r = rs.reduce((b, v) => (Math.abs(v) > Math.abs(b) ? v : b), 0);
      expected[Math.min(3, Math.floor((r + 1) * 2))]!++;
    }
    assert.deepEqual(ch.counts, expected);
  });

  it("refuses a neuron outside the recorded layers", async () => {
    const res = await gql(`{ neuron(runId: "${runId}", layer: 5, index: 0) { id } }`);
    assert.equal(res.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
  });
});

describe("subscriptions after a restart", () => {
  it("start from the stored state: status, last progress event, leaderboard", async () => {
    const client = createClient({ url: `${server.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const first = async (query: string) => (await client.iterate({ query }).next()).value?.data;
      assert.deepEqual(await first(`subscription { runStatus(runId: "${runId}") { status } }`), { runStatus: { status: "DONE" } });
      assert.deepEqual(await first(`subscription { trainingProgress(runId: "${runId}") { runId seq phase step totalSteps loss valLoss valAccuracy } }`), {
        trainingProgress: { runId: String(runId), seq: 2, phase: "training", step: 20, totalSteps: 20, loss: 0.5, valLoss: 0.8, valAccuracy: null },
      });
      const board = (await first(`subscription { neuronLeaderboard(runId: "${runId}", metric: "label", k: 2) { samplesSeen neurons { id rank bestPosition } } }`)) as {
        neuronLeaderboard: { samplesSeen: number; neurons: { id: string; rank: number; bestPosition: number }[] };
      };
      assert.equal(board.neuronLeaderboard.samplesSeen, N);
      assert.equal(board.neuronLeaderboard.neurons.length, 2);
      assert.deepEqual(board.neuronLeaderboard.neurons[0], { id: "L1.N2", rank: 1, bestPosition: 1 });
    } finally {
      await client.dispose();
    }
  });
});

describe("mutations", () => {
  it("refuses mutations without the token and changes nothing", async () => {
    const res = await gql(`mutation { deleteRun(id: "${runId}") }`);
    assert.equal(res.status, 401);
    assert.equal(res.errors?.[0]?.extensions.code, "UNAUTHENTICATED");
    assert.equal(res.data, undefined);
    assert.equal((await gql<{ run: { id: string } }>(`{ run(id: "${runId}") { id } }`)).data?.run.id, String(runId));
  });

  it("adds a metric after the run and scores every neuron against it", async () => {
    const defined = 30; // samples s30.. get no value
    const x0 = column(0, 0, 1);
    const values = Array.from({ length: defined }, (_, s) => ({ sampleId: `s${s}`, value: 3 * x0[s]! + 1 }));
    const add = await gql<{ addMetric: { name: string; kind: string } }>(
      `mutation ($values: [SampleValueInput!]!) { addMetric(runId: "${runId}", name: "planted", values: $values) { name kind } }`,
      { values },
      true,
    );
    assertOk(add);
    assert.deepEqual(add.data!.addMetric, { name: "planted", kind: "ADDED" });
    const y = Float64Array.from(values, (v) => v.value);
    const sub = (c: Float64Array) => c.subarray(0, defined);

    type Page = { neurons: { edges: { node: { id: string; r: number; p: number; bestPosition: number | null } }[] } };
    const top = await gql<Page>(`{ neurons(runId: "${runId}", metric: "planted", first: 1) { edges { node { id r p: pAtPosition bestPosition } } } }`);
    assertOk(top);
    assert.equal(top.data!.neurons.edges[0]!.node.id, "L0.N1");
    assert.equal(top.data!.neurons.edges[0]!.node.bestPosition, 0);
    assert.ok(Math.abs(top.data!.neurons.edges[0]!.node.r - 1) < 1e-9);

    const atPos = await gql<Page>(`{ neurons(runId: "${runId}", metric: "planted", layer: 1, position: 2, first: 10) { edges { node { id r p: pAtPosition pCorrected bestPosition } } } }`);
    assertOk(atPos);
    assert.equal(atPos.data!.neurons.edges.length, F);
    for (const { node } of atPos.data!.neurons.edges) {
      const f = Number(node.id.split(".N")[1]);
      assert.ok(Math.abs(node.r - pearson(sub(column(1, 2, f)), y)) < 1e-9, node.id);
      assert.equal(node.bestPosition, 2);
      assert.ok(node.p >= 0 && node.p <= 1);
      assert.equal((node as { pCorrected?: number }).pCorrected, node.p, "a named position chose nothing: corrected = plain p");
    }

    const maxAct = await gql<Page>(`{ neurons(runId: "${runId}", metric: "planted", layer: 0, aggregate: MAX_ACTIVATION, first: 10) { edges { node { id r bestPosition } } } }`);
    assertOk(maxAct);
    for (const { node } of maxAct.data!.neurons.edges) {
      const f = Number(node.id.split(".N")[1]);
      const xmax = Float64Array.from({ length: defined }, (_, s) => Math.max(...Array.from({ length: P }, (_, p) => column(0, p, f)[s]!)));
      assert.ok(Math.abs(node.r - pearson(xmax, y)) < 1e-9, node.id);
      assert.equal(node.bestPosition, null);
    }
  });

  it("refuses an added metric with unknown samples or a taken name, and changes nothing", async () => {
    const q = `mutation ($name: String!, $values: [SampleValueInput!]!) { addMetric(runId: "${runId}", name: $name, values: $values) { name } }`;
    const unknown = await gql(q, { name: "m2", values: [{ sampleId: "nope", value: 1 }] }, true);
    assert.equal(unknown.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    assert.match(unknown.errors![0]!.message, /"nope" is not a validation sample/);
    const taken = await gql(q, { name: "label", values: [{ sampleId: "s1", value: 1 }] }, true);
    assert.equal(taken.errors?.[0]?.extensions.code, "CONFLICT");
    const metrics = await gql<{ run: { metrics: { name: string }[] } }>(`{ run(id: "${runId}") { metrics { name } } }`);
    assert.deepEqual(metrics.data!.run.metrics.map((m) => m.name), ["label", "planted"]);
  });

  it("exports a run under the export folder, refusing names with slashes", async () => {
    const bad = await gql(`mutation { exportRun(id: "${runId}", name: "../x") }`, {}, true);
    assert.equal(bad.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    const res = await gql<{ exportRun: string }>(`mutation { exportRun(id: "${runId}") }`, {}, true);
    assertOk(res);
    assert.equal(res.data!.exportRun, join(dir, "data", "exports", `run-${runId}`));
    assert.ok(existsSync(join(res.data!.exportRun, "scores.parquet")));
  });

  it("deletes a run with the token", async () => {
    const res = await gql<{ deleteRun: string }>(`mutation { deleteRun(id: "${runId}") }`, {}, true);
    assertOk(res);
    assert.equal(res.data!.deleteRun, String(runId));
    assert.equal((await gql(`{ run(id: "${runId}") { id } }`)).errors?.[0]?.extensions.code, "NOT_FOUND");
  });
});

describe("close", () => {
  it("releases a consistent database", async () => {
    await server.close();
    const store = await Store.open(join(dir, "data", "db.duckdb"));
    try {
      assert.deepEqual(await store.listRuns(), []);
      assert.deepEqual(store.recoveredRuns, []);
    } finally {
      await store.close();
    }
  });
});
