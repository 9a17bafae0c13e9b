/**
 * Broker bench (`npm run bench -- broker`): the two brokers issue #16 allows, Redis 7 with BullMQ and
 * NATS JetStream 2.9, on this machine's loopback, doing what skillscope's work queue does:
 * 1. dispatch latency of a shard job (a demo-sized ShardJob frame): enqueue -> a runner starts it, and
 *    enqueue -> the server learns it finished, one job at a time;
 * 2. throughput: 2000 jobs queued at once, two runners taking them;
 * 3. moving a shard's partial statistics back (the demo's, and SKILLSCOPE_BENCH_BROKER_7B=1 adds the
 *    7B-shaped 310 MiB one): BullMQ as server/queue does it (binary keys of 64 MiB + the completed event),
 *    JetStream through its object store (a message is capped by max_payload: 1 MiB by default, 64 MiB at most).
 * Both brokers keep their data in memory (Redis without snapshots, JetStream memory storage), each
 * runner has its own connections; producer and runners share this process, the same for both.
 * Needs `redis-server` and `nats-server` (Debian: `apt-get install redis-server nats-server`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient } from "@nats-io/jetstream";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import { takeResult, writeResult, type ResultRef } from "../server/queue/broker.js";
import { encodeFrame } from "../gpu-runner/runner/codec.js";
import { Rng } from "../gpu-runner/train/rng.js";
import type { BenchResult } from "./result.js";
import { demoPartialFrame, sevenBPartial } from "./scaleout.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LATENCY_JOBS = 200;
const THROUGHPUT_JOBS = 2000;
const RESULT_REPEATS = 8;
/** Object-store chunks as large as the default max_payload (1 MiB) allows, less room for headers: faster than the 128 KiB default. */
const RESULT_CHUNK = (1 << 20) - (16 << 10);

/** What the bench asks of a broker: a work queue of jobs with ids, and results that come back to the producer. */
interface WorkQueue {
  readonly name: string;
  add(id: string, payload: Uint8Array): Promise<void>;
  /** Starts `runners` consumers, each taking one job at a time; `work` returns the job's result (or null). */
  consume(runners: number, work: (id: string, payload: Uint8Array) => Promise<Uint8Array | null>): Promise<void>;
  /** Called once per finished job, at the producer, with its result bytes. */
  onDone(listener: (id: string, result: Uint8Array | null) => void): void;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface BrokerProcess {
  readonly port: number;
  rssBytes(): number;
  stop(): Promise<void>;
}

/** Starts a broker binary on a free loopback port and waits until `ready` connects. */
async function startBroker(bin: string, args: (port: number) => string[], ready: (port: number) => Promise<void>): Promise<BrokerProcess> {
  if (spawnSync(bin, ["--version"]).error) throw new Error(`${bin} is not installed: apt-get install ${bin} (the broker bench starts its own)`);
  const port = await freePort();
  const child: ChildProcess = spawn(bin, args(port), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += String(d)));
  child.stderr!.on("data", (d: Buffer) => (out += String(d)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      await ready(port);
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${bin} did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    rssBytes: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function bullmqQueue(port: number, prefix: string): Promise<WorkQueue> {
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const queue = new Queue(prefix, { connection, prefix });
  const events = new QueueEvents(prefix, { connection, prefix });
  const redis = new Redis(connection);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const workers: Worker[] = [];
  const runnerRedis: Redis[] = [];
  const listeners: ((id: string, result: Uint8Array | null) => void)[] = [];
  // as server/queue does: the result is binary keys (writeResult) the completed event points at
  events.on("completed", ({ jobId, returnvalue }) => {
    void (async () => {
      const ref = returnvalue as unknown as ResultRef | null;
      const bytes = ref ? await takeResult(redis, ref) : null;
      for (const l of listeners) l(jobId, bytes);
    })();
  });
  return {
    name: "Redis 7 + BullMQ",
    async add(id, payload) {
      await queue.add("shard", { frame: Buffer.from(payload).toString("base64") }, { jobId: id, removeOnComplete: true });
    },
    async consume(runners, work) {
      for (let i = 0; i < runners; i++) {
        const own = new Redis(connection);
        runnerRedis.push(own);
        const w = new Worker(prefix, async (job) => {
          const result = await work(job.id!, Buffer.from(job.data.frame as string, "base64"));
          return result ? writeResult(own, prefix, job.id!, result) : null;
        }, { connection, prefix, concurrency: 1, lockDuration: 30000 });
        workers.push(w);
        await w.waitUntilReady();
      }
    },
    onDone: (l) => void listeners.push(l),
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([events.close(), queue.obliterate({ force: true }).then(() => queue.close())]);
      redis.disconnect();
      for (const r of runnerRedis) r.disconnect();
    },
  };
}

async function jetstreamQueue(port: number, prefix: string): Promise<WorkQueue> {
  const servers = `127.0.0.1:${port}`;
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  const stream = `${prefix}_SHARDS`;
  // a work-queue stream: a message is removed once acked; ack_wait is the lease, redelivered when it lapses
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.jobs`], retention: RetentionPolicy.Workqueue, storage: StorageType.Memory });
  await jsm.consumers.add(stream, { durable_name: "runners", ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000, max_ack_pending: -1 });
  const js = jetstream(nc);
  const results: ObjectStore = await new Objm(nc).create(`${prefix}_results`, { storage: StorageType.Memory });
  const runnerConns: NatsConnection[] = [];
  const stops: (() => void)[] = [];
  const listeners: ((id: string, result: Uint8Array | null) => void)[] = [];
  const done = nc.subscribe(`${prefix}.done`);
  void (async () => {
    for await (const m of done) {
      const { id, result } = m.json<{ id: string; result: boolean }>();
      let bytes: Uint8Array | null = null;
      if (result) {
        bytes = await results.getBlob(id);
        await results.delete(id);
      }
      for (const l of listeners) l(id, bytes);
    }
  })();
  return {
    name: "NATS JetStream 2.9",
    async add(id, payload) {
      await js.publish(`${prefix}.jobs`, payload, { msgID: id, headers: undefined });
    },
    async consume(runners, work) {
      for (let i = 0; i < runners; i++) {
        const own = await connect({ servers });
        runnerConns.push(own);
        const ownJs: JetStreamClient = jetstream(own);
        const ownResults = await new Objm(own).open(`${prefix}_results`);
        const consumer = await ownJs.consumers.get(stream, "runners");
        // one job at a time, as a runner takes them
        const messages = await consumer.consume({ max_messages: 1 });
        stops.push(() => void messages.stop());
        void (async () => {
          for await (const m of messages) {
            const id = m.headers?.get("Nats-Msg-Id") ?? String(m.seq);
            const result = await work(id, m.data);
            if (result) await ownResults.putBlob({ name: id, options: { max_chunk_size: RESULT_CHUNK } }, result);
            await m.ackAck();
            own.publish(`${prefix}.done`, JSON.stringify({ id, result: result !== null }));
          }
        })();
      }
    },
    onDone: (l) => void listeners.push(l),
    async close() {
      for (const s of stops) s();
      done.unsubscribe();
      await results.destroy();
      await jsm.streams.delete(stream);
      for (const c of runnerConns) await c.close();
      await nc.close();
    },
  };
}

/** A ShardJob of the demo (its 300 val rows as runner rows and metric rows, a 20 x 128 prompt), as queued. */
function demoJobFrame(): Uint8Array {
  const rows = readFileSync(join(ROOT, "demo/tasks/sentiment.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>).filter((r) => r.split === "val");
  const prompt = new Float32Array(20 * 128);
  const rng = Rng.fromSeed(5);
  for (let i = 0; i < prompt.length; i++) prompt[i] = rng.normal();
  const start = {
    type: "start", runId: "1", model: { kind: "onnx", dir: join(ROOT, "demo/model") }, prompt,
    rows: { train: [], val: rows.map((r) => ({ id: r.id, instruction: `${r.text} ->`, answer: r.answer })) }, shard: { index: 0, count: 2, start: 0, end: 150 },
  };
  const metricRows = rows.map((r) => ({ id: r.id, fields: { text: r.text, negated: String(r.negated) }, columns: {}, answer: r.answer, label: r.label }));
  return encodeFrame({ type: "shard", runId: "1", start, metricRows, verbalizer: { negative: "negative", positive: "positive" }, storage: { mode: "topk", k: 32 }, sendActivations: false });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

interface Measured {
  dispatchMs: number[];
  roundTripMs: number[];
  jobsPerSecond: number;
  /** Seconds from a runner returning the result to the producer holding it, per result size. */
  resultSeconds: Map<string, number[]>;
  brokerPeakRss: number;
}

async function measure(q: WorkQueue, job: Uint8Array, results: { label: string; bytes: Uint8Array; repeats: number }[], brokerRss: () => number): Promise<Measured> {
  const startedAt = new Map<string, number>();
  const returnedAt = new Map<string, number>();
  const waiting = new Map<string, (r: Uint8Array | null) => void>();
  let result: Uint8Array | null = null;
  q.onDone((id, r) => {
    waiting.get(id)?.(r);
    waiting.delete(id);
  });
  await q.consume(2, async (id) => {
    startedAt.set(id, performance.now());
    returnedAt.set(id, performance.now());
    return result;
  });
  const submit = async (id: string) => {
    const finished = new Promise<Uint8Array | null>((resolve) => waiting.set(id, resolve));
    await q.add(id, job);
    return finished;
  };

  const dispatchMs: number[] = [];
  const roundTripMs: number[] = [];
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const id = `lat-${i}`;
    const t0 = performance.now();
    await submit(id);
    roundTripMs.push(performance.now() - t0);
    dispatchMs.push(startedAt.get(id)! - t0);
  }

  const t0 = performance.now();
  await Promise.all(Array.from({ length: THROUGHPUT_JOBS }, (_, i) => submit(`tp-${i}`)));
  const jobsPerSecond = THROUGHPUT_JOBS / ((performance.now() - t0) / 1000);

  const resultSeconds = new Map<string, number[]>();
  for (const r of results) {
    result = r.bytes;
    const times: number[] = [];
    for (let i = 0; i < r.repeats; i++) {
      const id = `res-${r.label}-${i}`;
      const got = await submit(id);
      times.push((performance.now() - returnedAt.get(id)!) / 1000);
      if (!got || got.byteLength !== r.bytes.byteLength || Buffer.compare(got.subarray(0, 4096), r.bytes.subarray(0, 4096)) !== 0) {
        throw new Error(`${q.name}: the ${r.label} result came back as ${got?.byteLength ?? "nothing"} bytes`);
      }
    }
    resultSeconds.set(r.label, times);
  }
  result = null;
  return { dispatchMs, roundTripMs, jobsPerSecond, resultSeconds, brokerPeakRss: brokerRss() };
}

/** What a plain NATS message of `bytes` does against the server's max_payload. */
async function natsPlainPublish(port: number, bytes: number): Promise<string> {
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  try {
    nc.publish("probe", new Uint8Array(bytes));
    await nc.flush();
    return `a ${(bytes / 2 ** 20).toFixed(1)} MiB message was accepted`;
  } catch (e) {
    return `a ${(bytes / 2 ** 20).toFixed(1)} MiB message is refused (${(e as Error).message}; server max_payload ${nc.info?.max_payload} B)`;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

export async function benchBroker(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "skillscope-bench-broker-"));
  const notes: string[] = [];
  try {
    const job = demoJobFrame();
    const demo = demoPartialFrame();
    const results = [{ label: "demo", bytes: demo.frame, repeats: RESULT_REPEATS }];
    if (process.env.SKILLSCOPE_BENCH_BROKER_7B === "1") results.push({ label: "7B", bytes: sevenBPartial().frame, repeats: 1 });
    notes.push(`job: a demo ShardJob frame of ${(job.byteLength / 1024).toFixed(0)} KiB; results: the demo shard partial (${demo.shape}) ${(demo.frame.byteLength / 2 ** 20).toFixed(1)} MiB${results.length > 1 ? `, the 7B-shaped one ${(results[1]!.bytes.byteLength / 2 ** 20).toFixed(0)} MiB` : " (SKILLSCOPE_BENCH_BROKER_7B=1 adds the 7B-shaped 310 MiB one)"}`);

    const redisServer = await startBroker("redis-server", (port) => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], async (port) => {
      const c = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on("error", () => undefined);
      try {
        await c.connect();
        await c.ping();
      } finally {
        c.disconnect();
      }
    });
    let bull: Measured;
    try {
      const q = await bullmqQueue(redisServer.port, "bench");
      bull = await measure(q, job, results, () => redisServer.rssBytes());
      await q.close();
    } finally {
      await redisServer.stop();
    }

    const natsServer = await startBroker("nats-server", (port) => ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dir, "nats")], async (port) => void (await (await connect({ servers: `127.0.0.1:${port}`, reconnect: false })).close()));
    let nats: Measured;
    try {
      notes.push(`NATS core publish: ${await natsPlainPublish(natsServer.port, demo.frame.byteLength)}; so JetStream results go through its object store (chunks of ${RESULT_CHUNK >> 10} KiB)`);
      const q = await jetstreamQueue(natsServer.port, "bench");
      nats = await measure(q, job, results, () => natsServer.rssBytes());
      await q.close();
    } finally {
      await natsServer.stop();
    }

    const figures: BenchResult["figures"] = [
      { label: "shard job dispatch latency, median", ours: median(bull.dispatchMs), peer: "JetStream", peerValue: median(nats.dispatchMs), unit: "ms", ratio: median(nats.dispatchMs) / median(bull.dispatchMs) },
      { label: "shard job round trip, median", ours: median(bull.roundTripMs), peer: "JetStream", peerValue: median(nats.roundTripMs), unit: "ms", ratio: median(nats.roundTripMs) / median(bull.roundTripMs) },
      { label: "shard job round trip, p99", ours: p99(bull.roundTripMs), peer: "JetStream", peerValue: p99(nats.roundTripMs), unit: "ms", ratio: p99(nats.roundTripMs) / p99(bull.roundTripMs) },
      { label: `throughput, ${THROUGHPUT_JOBS} jobs, 2 runners`, ours: bull.jobsPerSecond, peer: "JetStream", peerValue: nats.jobsPerSecond, unit: "jobs/s", ratio: bull.jobsPerSecond / nats.jobsPerSecond },
    ];
    for (const r of results) {
      const [b, n] = [median(bull.resultSeconds.get(r.label)!), median(nats.resultSeconds.get(r.label)!)];
      const mib = r.bytes.byteLength / 2 ** 20;
      figures.push({ label: `${r.label} partial (${mib.toFixed(1)} MiB) back to the server`, ours: b, peer: "JetStream object store", peerValue: n, unit: "s", ratio: n / b });
    }
    notes.push(`broker peak RSS: redis-server ${(bull.brokerPeakRss / 2 ** 20).toFixed(0)} MiB, nats-server ${(nats.brokerPeakRss / 2 ** 20).toFixed(0)} MiB`);
    notes.push("ours = Redis 7 + BullMQ as server/queue uses it; ratio > 1: BullMQ faster");
    return { name: "broker", figures, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
