/**
 * GraphQL server bench, on 127.0.0.1 in one process:
 * 1. `neurons` query latency over a run with >= 1M stored scores against the same query on the store
 *    directly (ratio = store / GraphQL, so it says how close the API comes to the bare query); the
 *    GraphQL page is checked against the store's page before the figures count.
 * 2. Event-loop lag of the server's main thread while a run trains (planted fixture, worker runner)
 *    against the same measurement on the idle server.
 */
import "reflect-metadata";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { DB_FILE, startServer, type RunningServer } from "../server/http/server.js";
import { Store } from "../server/store/store.js";
import type { ScoreBatch, ScorePage, ScoreQuery } from "../server/store/scores.js";
import { gql, keepAliveAgent, type GraphQLEndpoint } from "./graphql-client.js";
import { NEURONS_QUERY, neuronsVariables, type NeuronsPage } from "./neurons-query.js";
import type { BenchResult } from "./result.js";

const METRICS = ["acc", "colors"] as const;
const LAYERS = 8;
const POSITIONS = 20;
const NEURONS = 4096;
const SAMPLES = 64;
const REPEATS = 100;
const WARMUP = 3;
const LAG_MS = 10_000;
const LAG_RESOLUTION_MS = 10;
/** More steps than the window can take: the run is cancelled once measured (patience 0: no early stop). */
const TRAIN_STEPS = 100_000;
const PLANTED = fileURLToPath(new URL("../../test/fixtures/planted/", import.meta.url));
const FIRST_CALL_CHILD = fileURLToPath(new URL("./graphql-first-call.js", import.meta.url));
/** Fresh processes per side for the first-call figure (taken in turns: server, store, server, ...). */
const FIRST_CALL_PROCESSES = 5;

type Figure = BenchResult["figures"][number];

interface Latency {
  medianMs: number;
  p95Ms: number;
}

/** Deterministic uniform [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Per (metric, layer) the batches `scoreBatches` writes: 'position' [P*F] rows, 'max_abs_r' [F]
 * (r at the argmax-|r| position) and 'max_act' [F]; r drawn in (-0.6, 0.6).
 */
function syntheticScores(metric: string, layer: number, next: () => number): ScoreBatch[] {
  const n = POSITIONS * NEURONS;
  const position = new Int32Array(n);
  const neuron = new Int32Array(n);
  const r = new Float32Array(n);
  const bestR = new Float32Array(NEURONS);
  const bestPos = new Int32Array(NEURONS);
  for (let p = 0; p < POSITIONS; p++) {
    for (let f = 0; f < NEURONS; f++) {
      const i = p * NEURONS + f;
      position[i] = p;
      neuron[i] = f;
      r[i] = (next() * 2 - 1) * 0.6;
      if (p === 0 || Math.abs(r[i]!) > Math.abs(bestR[f]!)) (bestR[f] = r[i]!), (bestPos[f] = p);
    }
  }
  const ids = Int32Array.from({ length: NEURONS }, (_, f) => f);
  const maxAct = Float32Array.from({ length: NEURONS }, () => (next() * 2 - 1) * 0.6);
  return [
    { metric, agg: "position", layer, position, neuron, r },
    { metric, agg: "max_abs_r", layer, position: bestPos, neuron: ids, r: bestR },
    { metric, agg: "max_act", layer, position: null, neuron: ids.slice(), r: maxAct },
  ];
}

/** Builds the scored run through the store's API; returns its id and the rows written. */
async function buildScoredRun(dbPath: string): Promise<{ runId: number; rows: number; seconds: number }> {
  const store = await Store.open(dbPath);
  try {
    const modelId = await store.addModel({ path: "/synthetic/model", family: "gpt2", config: { n_layer: LAYERS } });
    const taskId = await store.addTask({ name: "synthetic", source: "bench", template: "{text}", verbalizer: { "0": "no", "1": "yes" } });
    const runId = await store.createRun({ modelId, taskId, config: {} });
    await store.setRunStatus(runId, "running");
    const sampleId = Array.from({ length: SAMPLES }, (_, i) => `s${i}`);
    const next = rng(7);
    for (const name of METRICS) {
      await store.writeMetric(runId, { name, kind: "builtin", sampleId, value: Float64Array.from(sampleId, () => next()) });
    }
    const batches = METRICS.flatMap((m) => Array.from({ length: LAYERS }, (_, l) => syntheticScores(m, l, next)).flat());
    const t0 = performance.now();
    const rows = await store.writeScores(runId, batches);
    const seconds = (performance.now() - t0) / 1000;
    await store.updateRun(runId, { layers: Array.from({ length: LAYERS }, (_, l) => l) });
    await store.setRunStatus(runId, "done");
    return { runId, rows, seconds };
  } finally {
    await store.close();
  }
}

function latency(ms: number[]): Latency {
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
  return { medianMs: (ms[(ms.length - 1) >> 1]! + ms[ms.length >> 1]!) / 2, p95Ms: at(0.95) };
}

/**
 * WARMUP untimed calls, then REPEATS timed calls of each of two calls taken in turns (a, b, a, b, ...), so that load from other processes
 * falls on both alike. Each gets the call index (calls that must not repeat an argument use it).
 */
async function timeInTurns(a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>): Promise<[Latency, Latency]> {
  for (let i = 0; i < WARMUP; i++) (await a(i), await b(i));
  const ms: [number[], number[]] = [[], []];
  for (let i = WARMUP; i < WARMUP + REPEATS; i++) {
    for (const [k, call] of [a, b].entries()) {
      const t0 = performance.now();
      await call(i);
      ms[k]!.push(performance.now() - t0);
    }
  }
  return [latency(ms[0]), latency(ms[1])];
}

interface Case {
  label: string;
  query: ScoreQuery;
  /** Each call asks with a threshold no call asked before (so misses every cache). */
  fresh?: boolean;
}

/** The GraphQL page must be the store's page, row for row, before its timing counts. */
function assertSamePage(label: string, viaApi: NeuronsPage, direct: ScorePage): void {
  const a = viaApi.neurons;
  const same =
    a.totalCount === direct.totalCount &&
    a.pageInfo.endCursor === direct.endCursor &&
    a.edges.length === direct.rows.length &&
    a.edges.every((e, i) => {
      const s = direct.rows[i]!;
      return e.cursor === s.cursor && e.node.layer === s.layer && e.node.index === s.neuron && e.node.r === s.r && e.node.rank === s.rank;
    });
  if (!same || a.edges.length === 0) throw new Error(`${label}: the GraphQL page differs from the store's page; figures not counted`);
}

function latencyFigures(c: Case, api: Latency, store: Latency): Figure[] {
  return [
    { label: `${c.label} median`, ours: api.medianMs, peer: "store.queryScores", peerValue: store.medianMs, unit: "ms", ratio: store.medianMs / api.medianMs },
    { label: `${c.label} p95`, ours: api.p95Ms, peer: "store.queryScores", peerValue: store.p95Ms, unit: "ms", ratio: store.p95Ms / api.p95Ms },
  ];
}

async function benchNeuronsQuery(dir: string, notes: string[]): Promise<Figure[]> {
  const dbPath = join(dir, DB_FILE);
  const built = await buildScoredRun(dbPath);
  notes.push(`scores: ${built.rows} rows (${METRICS.length} metrics x ${LAYERS} layers x (${POSITIONS} x ${NEURONS} + 2 x ${NEURONS})) written by writeScores in ${built.seconds.toFixed(1)} s`);
  // The store peer reads its own copy of the file, so both paths are open at once and timed in turns.
  const peerPath = join(dir, "peer.duckdb");
  await copyFile(dbPath, peerPath);
  const metric = "colors";
  const first50: ScoreQuery = { metric, agg: "max_abs_r", first: 50 };
  const cases: Case[] = [
    { label: "neurons(first: 50)", query: first50 },
    { label: "neurons(layer: 3, minAbsR: 0.5)", query: { metric, agg: "max_abs_r", layer: 3, minAbsR: 0.5, first: 50 } },
    { label: "neurons second page (after)", query: { metric, agg: "max_abs_r", first: 50 } },
    // A threshold no call asked before, every call: nothing kept can answer (the store gets the same thresholds).
    { label: "neurons(first: 50) uncached", query: first50, fresh: true },
  ];
  const variables = (q: ScoreQuery) => neuronsVariables(built.runId, q);
  const queryAt = (c: Case, i: number): ScoreQuery => (c.fresh ? { ...c.query, minAbsR: (i + 1) * 1e-6 } : c.query);

  const figures: Figure[] = await firstCallOfAProcess(dir, dbPath, built.runId, first50, notes);
  const server = await startServer({ dataDir: dir, dbPath, port: 0, dashboardDir: join(dir, "none") });
  const agent = keepAliveAgent();
  const store = await Store.open(peerPath);
  try {
    const api: GraphQLEndpoint = { url: server.url, token: (await readFile(join(dir, "token"), "utf8")).trim(), agent };
    const viaApi = (q: ScoreQuery) => gql<NeuronsPage>(api, NEURONS_QUERY, variables(q));
    const direct = (q: ScoreQuery) => store.queryScores(built.runId, q);
    let firstPage: NeuronsPage | undefined;
    for (const c of cases) {
      if (c.label.includes("second page")) c.query.after = firstPage!.neurons.pageInfo.endCursor;
      // The first call of each: nothing of it kept yet (the first call of a process is measured apart, above).
      const q0 = queryAt(c, -1);
      const [apiFirst, storeFirst] = [await timed(() => viaApi(q0)), await timed(() => direct(q0))];
      assertSamePage(c.label, apiFirst.value, storeFirst.value);
      firstPage ??= apiFirst.value;
      const [apiLatency, storeLatency] = await timeInTurns((i) => viaApi(queryAt(c, i)), (i) => direct(queryAt(c, i)));
      figures.push(...latencyFigures(c, apiLatency, storeLatency));
      notes.push(`${c.label}: first call ${apiFirst.ms.toFixed(1)} ms vs the store's first ${storeFirst.ms.toFixed(1)} ms (${(storeFirst.ms / apiFirst.ms).toFixed(2)}x)`);
    }
    const [trivial, listMetrics] = await timeInTurns(() => gql(api, "{ __typename }"), () => store.listMetrics(built.runId));
    notes.push(`a trivial query ({ __typename }) takes ${trivial.medianMs.toFixed(2)} ms median over the same HTTP path (the fixed cost of fetch + server + Apollo); store.listMetrics (the resolver's metric check, kept after the first call) ${listMetrics.medianMs.toFixed(2)} ms`);
    notes.push(`neurons pages matched the store's pages row for row; totalCount ${firstPage!.neurons.totalCount} (first page)`);
  } finally {
    agent.destroy();
    await server.close();
    await store.close();
  }
  return figures;
}

/** Runs bench/graphql-first-call.js in a fresh node process; resolves with its answer. */
function firstCallChild(args: string[]): Promise<{ ms: number; page: unknown }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [FIRST_CALL_CHILD, ...args], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`graphql-first-call ${args[0]} failed: ${stderr}`));
      resolve(JSON.parse(stdout) as { ms: number; page: unknown });
    });
  });
}

/**
 * The first page a fresh process answers: a server just started (its start includes the warm-up)
 * against a store just opened, each in its own process on its own copy of the database file, so
 * neither runs code the other compiled. FIRST_CALL_PROCESSES of each, in turns; medians.
 */
async function firstCallOfAProcess(dir: string, dbPath: string, runId: number, q: ScoreQuery, notes: string[]): Promise<Figure[]> {
  const apiMs: number[] = [];
  const storeMs: number[] = [];
  for (let i = 0; i < FIRST_CALL_PROCESSES; i++) {
    const serverDir = join(dir, `first-call-server-${i}`);
    const storeDir = join(dir, `first-call-store-${i}`);
    const storeFile = join(storeDir, "peer.duckdb");
    await mkdir(serverDir);
    await mkdir(storeDir);
    await copyFile(dbPath, join(serverDir, DB_FILE));
    await copyFile(dbPath, storeFile);
    const viaApi = await firstCallChild(["server", serverDir, String(runId), JSON.stringify(q)]);
    const direct = await firstCallChild(["store", storeFile, String(runId), JSON.stringify(q)]);
    assertSamePage("first call of a process", viaApi.page as NeuronsPage, direct.page as ScorePage);
    apiMs.push(viaApi.ms);
    storeMs.push(direct.ms);
    await rm(serverDir, { recursive: true, force: true });
    await rm(storeDir, { recursive: true, force: true });
  }
  notes.push(`neurons(first: 50) first call of a fresh process (${FIRST_CALL_PROCESSES} processes per side, in turns): API ${apiMs.map((ms) => ms.toFixed(1)).join(", ")} ms; store ${storeMs.map((ms) => ms.toFixed(1)).join(", ")} ms`);
  const api = latency(apiMs);
  const store = latency(storeMs);
  return [{ label: "neurons(first: 50) first call of a process", ours: api.medianMs, peer: "store.queryScores", peerValue: store.medianMs, unit: "ms", ratio: store.medianMs / api.medianMs }];
}

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await call();
  return { value, ms: performance.now() - t0 };
}

interface Lag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The histogram records whole timer intervals (the resolution included): lag = interval - resolution. */
async function measureLag(ms: number): Promise<Lag> {
  const h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  h.enable();
  await new Promise((r) => setTimeout(r, ms));
  h.disable();
  const lag = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
  return { p50Ms: lag(h.percentile(50)), p99Ms: lag(h.percentile(99)), maxMs: lag(h.max) };
}

async function runStatus(api: GraphQLEndpoint, id: string): Promise<{ status: string; error: string | null }> {
  return (await gql<{ run: { status: string; error: string | null } }>(api, `query ($id: ID!) { run(id: $id) { status error } }`, { id })).run;
}

/** Largest training step among the run's progress events (stored progress payloads carry phase and step). */
async function lastTrainStep(api: GraphQLEndpoint, id: string): Promise<number> {
  let step = 0;
  let after = 0;
  for (;;) {
    const { run } = await gql<{ run: { events: { seq: number; payload: { phase?: string; step?: number } }[] } }>(
      api,
      `query ($id: ID!, $a: Int!) { run(id: $id) { events(afterSeq: $a, first: 1000) { seq payload } } }`,
      { id, a: after },
    );
    for (const e of run.events) if (e.payload.phase === "training" && typeof e.payload.step === "number") step = Math.max(step, e.payload.step);
    if (run.events.length < 1000) return step;
    after = run.events.at(-1)!.seq;
  }
}

async function benchTrainingLag(dir: string, notes: string[]): Promise<Figure[]> {
  const server: RunningServer = await startServer({ dataDir: dir, port: 0, modelRoots: [PLANTED], taskRoots: [PLANTED], dashboardDir: join(dir, "none"), runner: {} });
  const agent = keepAliveAgent();
  try {
    const api: GraphQLEndpoint = { url: server.url, token: (await readFile(join(dir, "token"), "utf8")).trim(), agent };
    const idle = await measureLag(LAG_MS);
    const model = await gql<{ registerModel: { id: string } }>(api, `mutation ($p: String!) { registerModel(path: $p) { id } }`, { p: join(PLANTED, "model") });
    const task = await gql<{ importTask: { id: string } }>(api, `mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`, {
      i: { name: "colours", path: join(PLANTED, "task.jsonl"), template: "{text} question", verbalizer: { "0": "no", "1": "yes" } },
    });
    const started = await gql<{ startRun: { id: string } }>(api, `mutation ($m: ID!, $t: ID!, $steps: Int!) { startRun(modelId: $m, taskId: $t, options: { promptLength: 4, steps: $steps, patience: 0 }) { id } }`, {
      m: model.registerModel.id,
      t: task.importTask.id,
      steps: TRAIN_STEPS,
    });
    const runId = started.startRun.id;
    const deadline = performance.now() + 60_000;
    for (;;) {
      const s = await runStatus(api, runId);
      if (s.status === "TRAINING") break;
      if (!["QUEUED", "RUNNING"].includes(s.status) || performance.now() > deadline) throw new Error(`run ${runId} did not start training: ${s.status} ${s.error ?? ""}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const stepBefore = await lastTrainStep(api, runId);
    const busy = await measureLag(LAG_MS);
    const statusAfter = (await runStatus(api, runId)).status;
    const stepAfter = await lastTrainStep(api, runId);
    if (statusAfter !== "TRAINING") notes.push(`warning: the run was ${statusAfter} at the end of the lag window, not TRAINING`);
    notes.push(`lag (monitorEventLoopDelay, resolution ${LAG_RESOLUTION_MS} ms, which is subtracted) measured over ${LAG_MS / 1000} s each; the run trained steps ${stepBefore} -> ${stepAfter} during the window (planted fixture, promptLength 4, patience 0, default runner)`);
    notes.push(`training p99 lag ${busy.p99Ms.toFixed(1)} ms: goal p99 < 50 ms ${busy.p99Ms < 50 ? "met" : "NOT met"}`);
    if (statusAfter === "TRAINING") await gql(api, `mutation ($id: ID!) { cancelRun(id: $id) { id } }`, { id: runId });
    const cancelBy = performance.now() + 20_000;
    while (!["CANCELLED", "FAILED", "DONE", "INTERRUPTED"].includes((await runStatus(api, runId)).status) && performance.now() < cancelBy) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const lagFigure = (label: string, key: keyof Lag): Figure => ({
      label: `event-loop lag while training ${label}`,
      ours: busy[key],
      peer: "idle server",
      peerValue: idle[key],
      unit: "ms",
      ratio: idle[key] / busy[key],
    });
    return [lagFigure("p50", "p50Ms"), lagFigure("p99", "p99Ms"), lagFigure("max", "maxMs")];
  } finally {
    agent.destroy();
    await server.close();
  }
}

export async function benchGraphql(): Promise<BenchResult> {
  const notes: string[] = [];
  const figures: Figure[] = [];
  const scoresDir = await mkdtemp(join(tmpdir(), "skillscope-bench-gql-"));
  try {
    figures.push(...(await benchNeuronsQuery(scoresDir, notes)));
  } finally {
    await rm(scoresDir, { recursive: true, force: true });
  }
  const trainDir = await mkdtemp(join(tmpdir(), "skillscope-bench-lag-"));
  try {
    figures.push(...(await benchTrainingLag(trainDir, notes)));
  } finally {
    await rm(trainDir, { recursive: true, force: true });
  }
  notes.push(`latencies: ${REPEATS} sequential calls after ${WARMUP} warm-up calls, over HTTP to 127.0.0.1 (node:http keep-alive client in the same process); ratio = store / GraphQL; timed in turns with store.queryScores on a copy of the same database file; a finished run's pages are kept after the first call (the store call reads DuckDB every time), except in the uncached case`);
  return { name: "graphql", figures, notes };
}
