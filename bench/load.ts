/**
 * Load: N concurrent GraphQL clients query `neurons` and `neuron { extremalSamples }` of a finished
 * run while M graphql-ws subscribers follow `trainingProgress` of a run that trains meanwhile, all
 * against one `skillscope serve` process on 127.0.0.1 (the planted fixture). Counts errors, checks
 * that every subscriber saw gap-free, increasing seq numbers up to the last event, and reports
 * latency percentiles, throughput and the server's peak RSS (VmHWM). The peer is the same server
 * answering the same queries with no run training and no subscribers, measured in the same run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { gql, keepAliveAgent, type GraphQLEndpoint } from "./graphql-client.js";
import type { BenchResult } from "./result.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PLANTED = join(ROOT, "test/fixtures/planted");
const CLI = join(ROOT, "dist/clients/cli/main.js");

export interface LoadOptions {
  /** Concurrent query clients. */
  clients: number;
  /** Requests each client sends (alternating neurons / extremalSamples)... */
  requestsPerClient: number;
  /** ...or fewer, when this much time has passed. */
  maxQueryMs: number;
  /** graphql-ws subscribers to the training run's progress. */
  subscribers: number;
}

export interface LatencyFigures {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  perSecond: number;
}

export interface LoadReport {
  /** Queries while a run trains and subscribers follow it. */
  loaded: LatencyFigures;
  /** The same queries against the idle server (no training, no subscribers). */
  idle: LatencyFigures;
  /** Every failed request or subscription, described. */
  errors: string[];
  /** Per subscriber: events seen, and any gap / reordering / missing tail found. */
  subscribers: { events: number; problems: string[] }[];
  /** Progress events the training run stored while the subscribers listened (last seq - first seen). */
  lastSeq: number;
  /** Peak resident set of the server process (VmHWM), MiB; NaN where /proc is unavailable. */
  peakRssMb: number;
  /** RSS of the server at rest after the setup run, MiB. */
  restRssMb: number;
  /** Wall time of each phase, s. */
  phases: { setup: number; idle: number; loaded: number; drain: number };
}

interface Server extends GraphQLEndpoint {
  proc: ChildProcess;
}

async function serve(dataDir: string): Promise<Server> {
  const proc = spawn(process.execPath, [CLI, "serve", "--port", "0", "--json", "--data-dir", dataDir, "--model-root", PLANTED, "--task-root", PLANTED], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let line = "";
    proc.stdout!.on("data", (b: Buffer) => {
      line += b.toString();
      const json = line.split("\n").find((l) => l.startsWith("{"));
      if (json) resolve((JSON.parse(json) as { url: string }).url);
    });
    proc.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  return { url, token: readFileSync(join(dataDir, "token"), "utf8").trim(), proc, agent: keepAliveAgent() };
}

function memoryMb(pid: number, field: "VmHWM" | "VmRSS"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function waitFor(s: Server, runId: string, statuses: string[]): Promise<string> {
  for (;;) {
    const { run } = await gql<{ run: { status: string; error: string | null } }>(s, `query ($id: ID!) { run(id: $id) { status error } }`, { id: runId });
    if (statuses.includes(run.status)) return run.status;
    if (["FAILED", "DONE", "CANCELLED", "INTERRUPTED"].includes(run.status)) throw new Error(`run ${runId} ended ${run.status}: ${run.error}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const NEURONS = `query ($r: ID!) { neurons(runId: $r, metric: "colors", first: 20) { edges { node { id r pAtPosition pCorrected } } } }`;
const EXTREMAL = `query ($r: ID!, $n: Int!) { neuron(runId: $r, layer: 0, index: $n) { id extremalSamples(k: 5, metric: "colors") { activation answer prediction metrics(names: ["colors"]) { name value } } } }`;

/**
 * `clients` concurrent loops of alternating queries; returns latencies (ms) and failures. Each
 * client's connection is opened (one `{ __typename }`) before the clock starts.
 */
async function queryLoad(s: Server, runId: string, o: LoadOptions, errors: string[]): Promise<LatencyFigures> {
  await Promise.all(Array.from({ length: o.clients }, () => gql(s, "{ __typename }")));
  const latencies: number[] = [];
  const t0 = performance.now();
  const until = t0 + o.maxQueryMs;
  await Promise.all(
    Array.from({ length: o.clients }, async (_, c) => {
      for (let i = 0; i < o.requestsPerClient && performance.now() < until; i++) {
        const start = performance.now();
        try {
          if ((c + i) % 2 === 0) await gql(s, NEURONS, { r: runId });
          else await gql(s, EXTREMAL, { r: runId, n: (c * 7 + i) % 64 });
          latencies.push(performance.now() - start);
        } catch (e) {
          errors.push(`client ${c} request ${i}: ${(e as Error).message}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { requests: latencies.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: latencies.at(-1) ?? Number.NaN, perSecond: latencies.length / seconds };
}

interface Subscriber {
  client: Client;
  seqs: number[];
  done: Promise<void>;
  stop: () => Promise<void>;
}

function subscribe(s: Server, runId: string, errors: string[], id: number): Subscriber {
  const client = createClient({ url: `${s.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const seqs: number[] = [];
  const events = client.iterate<{ trainingProgress: { seq: number } }>({ query: `subscription ($r: ID!) { trainingProgress(runId: $r) { seq step } }`, variables: { r: runId } });
  const done = (async () => {
    try {
      for await (const r of events) {
        if (r.errors?.length) errors.push(`subscriber ${id}: ${r.errors[0]!.message}`);
        else seqs.push(r.data!.trainingProgress.seq);
      }
    } catch (e) {
      errors.push(`subscriber ${id}: ${JSON.stringify(e)}`);
    }
  })();
  return {
    client,
    seqs,
    done,
    async stop() {
      await events.return?.();
      await done;
      await client.dispose();
    },
  };
}

/** Gaps, repeats and reordering in one subscriber's seq list, and a missing tail up to `last`. */
function seqProblems(seqs: readonly number[], last: number): string[] {
  const problems: string[] = [];
  if (seqs.length === 0) return ["no events"];
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== seqs[i - 1]! + 1) problems.push(`seq ${seqs[i]} after ${seqs[i - 1]}`);
  if (seqs.at(-1) !== last) problems.push(`last seq seen ${seqs.at(-1)}, the run's last is ${last}`);
  return problems;
}

/** Runs the whole load scenario on a fresh data dir; the server process is stopped at the end. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const dir = mkdtempSync(join(tmpdir(), "skillscope-load-"));
  const s = await serve(join(dir, "data"));
  const errors: string[] = [];
  try {
    const { registerModel } = await gql<{ registerModel: { id: string } }>(s, `mutation ($p: String!) { registerModel(path: $p) { id } }`, { p: join(PLANTED, "model") });
    const { importTask } = await gql<{ importTask: { id: string } }>(s, `mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`, {
      i: { name: "colours", path: join(PLANTED, "task.jsonl"), template: "{text} question", verbalizer: { "0": "no", "1": "yes" } },
    });
    const start = async (options: Record<string, unknown>) =>
      (await gql<{ startRun: { id: string } }>(s, `mutation ($m: ID!, $t: ID!, $o: RunOptionsInput) { startRun(modelId: $m, taskId: $t, options: $o) { id } }`, {
        m: registerModel.id,
        t: importTask.id,
        o: { promptLength: 4, evalEvery: 0, seed: 1, threads: 1, ...options },
      })).startRun.id;
    const clock = (() => { let t = performance.now(); return () => { const now = performance.now(); const d = (now - t) / 1000; t = now; return d; }; })();
    const finished = await start({ steps: 6, batchSize: 8 });
    await waitFor(s, finished, ["DONE"]);
    const restRssMb = memoryMb(s.proc.pid!, "VmRSS");
    const setup = clock();
    const idle = await queryLoad(s, finished, o, errors);
    const idleSeconds = clock();

    // Far more steps than the load lasts (the run is cancelled when the queries are done), each of
    // 8 microbatches: the planted model's bare steps would outpace the server's one transaction per
    // stored progress event, and the backlog, not the load, would set how long the bench takes.
    const training = await start({ steps: 1_000_000, batchSize: 32, gradAccumulation: 8 });
    const subscribers = Array.from({ length: o.subscribers }, (_, i) => subscribe(s, training, errors, i));
    await waitFor(s, training, ["TRAINING"]);
    const loaded = await queryLoad(s, finished, o, errors);
    const loadedSeconds = clock();
    // kept answers can finish the loaded phase within one progress interval: let training report
    // twice more (bounded) so the subscribers' order and completeness are judged over several events
    const trainUntil = Date.now() + 30_000;
    while (Date.now() < trainUntil && subscribers.some((x) => x.seqs.length < 2)) await new Promise((r) => setTimeout(r, 50));
    await gql(s, `mutation ($id: ID!) { cancelRun(id: $id) { id } }`, { id: training });
    await waitFor(s, training, ["CANCELLED"]);
    // a late subscriber gets the run's latest progress event first: its seq is the last one
    const probe = createClient({ url: `${s.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const latest = await probe.iterate<{ trainingProgress: { seq: number } }>({ query: `subscription ($r: ID!) { trainingProgress(runId: $r) { seq } }`, variables: { r: training } }).next();
    await probe.dispose();
    const lastSeq = latest.value?.data?.trainingProgress.seq ?? -1;
    // let in-flight events reach every subscriber before judging the tails
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && subscribers.some((x) => x.seqs.at(-1) !== lastSeq)) await new Promise((r) => setTimeout(r, 50));
    await Promise.all(subscribers.map((x) => x.stop()));
    return {
      loaded,
      idle,
      errors,
      subscribers: subscribers.map((x) => ({ events: x.seqs.length, problems: seqProblems(x.seqs, lastSeq) })),
      lastSeq,
      peakRssMb: memoryMb(s.proc.pid!, "VmHWM"),
      restRssMb,
      phases: { setup, idle: idleSeconds, loaded: loadedSeconds, drain: clock() },
    };
  } finally {
    s.agent.destroy();
    const exited = new Promise((r) => s.proc.once("exit", r));
    s.proc.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The long form: 200 clients and 50 subscribers, 20 s of querying idle and 20 s under load. */
export async function benchLoad(): Promise<BenchResult> {
  const clients = Number(process.env.SKILLSCOPE_LOAD_CLIENTS ?? 200);
  const subscribers = Number(process.env.SKILLSCOPE_LOAD_SUBSCRIBERS ?? 50);
  const r = await runLoad({ clients, requestsPerClient: 1000, maxQueryMs: 20_000, subscribers });
  const bad = r.subscribers.filter((x) => x.problems.length > 0);
  return {
    name: "load",
    figures: [
      { label: `p99 query latency, ${clients} clients while a run trains with ${subscribers} subscribers`, ours: r.loaded.p99Ms, peer: "same queries, idle server", peerValue: r.idle.p99Ms, unit: "ms", ratio: r.idle.p99Ms / r.loaded.p99Ms },
      { label: "p50 query latency under load", ours: r.loaded.p50Ms, peer: "same queries, idle server", peerValue: r.idle.p50Ms, unit: "ms", ratio: r.idle.p50Ms / r.loaded.p50Ms },
      { label: "queries per second under load", ours: r.loaded.perSecond, peer: "same queries, idle server", peerValue: r.idle.perSecond, unit: "req/s", ratio: r.loaded.perSecond / r.idle.perSecond },
      { label: "server peak RSS", ours: r.peakRssMb, peer: "server at rest after one run", peerValue: r.restRssMb, unit: "MiB", ratio: r.restRssMb / r.peakRssMb },
    ],
    notes: [
      `${r.loaded.requests} queries under load (${r.idle.requests} idle), ${r.errors.length} errors${r.errors.length ? `: ${r.errors.slice(0, 3).join("; ")}` : ""}`,
      `${subscribers} subscribers saw ${Math.min(...r.subscribers.map((x) => x.events))}..${Math.max(...r.subscribers.map((x) => x.events))} progress events each, up to seq ${r.lastSeq}; ${bad.length} with gaps, reordering or a missing tail${bad.length ? `: ${bad[0]!.problems.slice(0, 3).join("; ")}` : ""}`,
      `max latency ${r.loaded.maxMs.toFixed(1)} ms under load, ${r.idle.maxMs.toFixed(1)} ms idle`,
    ],
  };
}
