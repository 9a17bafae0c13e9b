import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import type { RunStatusEvent, TrainingProgressEvent } from "../../../server/graphql/live-events.js";
import { startServer, type RunningServer } from "../../../server/http/server.js";

const MAX_DEPTH = 3;
const TOO_DEEP = "{ __schema { types { fields { name } } } }";
let dir: string;
let sigtermListeners: number;
let server: RunningServer;
let token: string;

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

/** POST /graphql; returns the status and parsed body. */
async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: GraphQLBody }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as GraphQLBody };
}

/** A raw GET that keeps the path exactly as written (fetch would normalise `..`). */
function rawGet(path: string): Promise<{ status: number; type: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(server.url);
    const req = request({ host: url.hostname, port: url.port, path, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

function wsClient(connectionParams?: Record<string, unknown>): Client {
  return createClient({ url: `${server.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams });
}

function progress(runId: string, seq: number): TrainingProgressEvent {
  return { runId, seq, phase: "train", step: seq * 10, epoch: 0, loss: 2 - seq / 100, lr: 0.001, tokensPerSec: 50, valLoss: seq % 2 ? 1.5 : null };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-http-"));
  const dashboard = join(dir, "dashboard");
  await mkdir(join(dashboard, "assets"), { recursive: true });
  await writeFile(join(dashboard, "index.html"), "<!doctype html><title>skillscope</title>");
  await writeFile(join(dashboard, "assets", "app.js"), "console.log(1);");
  await writeFile(join(dir, "secret.txt"), "do not serve");
  await symlink(join(dir, "secret.txt"), join(dashboard, "link.txt"));
  // A small depth limit: this schema has no natural paths deeper than the default 12, and graphql's
  // own introspection rule refuses deep introspection before our limit is reached.
  sigtermListeners = process.listenerCount("SIGTERM");
  server = await startServer({ dataDir: join(dir, "data"), port: 0, dashboardDir: dashboard, limits: { maxDepth: MAX_DEPTH } });
  token = (await readFile(join(dir, "data", "token"), "utf8")).trim();
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("GraphQL over HTTP", () => {
  it("answers a query, and tells whether the token was accepted", async () => {
    const query = "{ serverInfo { version canWrite limits { maxPageSize maxDepth } } }";
    const anon = await post({ query });
    assert.equal(anon.status, 200);
    assert.deepEqual(anon.body.data, { serverInfo: { version: "0.1.0", canWrite: false, limits: { maxPageSize: 1000, maxDepth: MAX_DEPTH } } });
    const authed = await post({ query }, { authorization: `Bearer ${token}` });
    assert.equal((authed.body.data?.serverInfo as { canWrite: boolean }).canWrite, true);
    const wrong = await post({ query }, { authorization: `Bearer ${token.slice(1)}x` });
    assert.equal((wrong.body.data?.serverInfo as { canWrite: boolean }).canWrite, false);
  });

  it("answers GET queries", async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent("{ serverInfo { version } }")}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { data: { serverInfo: { version: "0.1.0" } } });
  });

  it("refuses an over-deep query with LIMIT_EXCEEDED before running it", async () => {
    const res = await post({ query: TOO_DEEP });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors?.[0]?.extensions?.code, "LIMIT_EXCEEDED");
    assert.match(res.body.errors![0]!.message, /depth of this operation is 4, above the limit of 3/);
    assert.equal(res.body.data, undefined);
  });

  it("answers 413 to a body over the limit", async () => {
    const res = await post({ query: "{ serverInfo { version } }", padding: "x".repeat(1024 * 1024) });
    assert.equal(res.status, 413);
    assert.equal(res.body.errors?.[0]?.extensions?.code, "LIMIT_EXCEEDED");
  });

  it("answers 413 to a chunked body over the limit", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(server.url);
      const req = request({ host: url.hostname, port: url.port, path: "/graphql", method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let i = 0; i < 20; i++) req.write(chunk);
      req.end();
    });
    assert.equal(status, 413);
  });

  it("answers 400 to a body that is not JSON", async () => {
    const res = await post("{not json");
    assert.equal(res.status, 400);
    assert.equal(res.body.errors?.[0]?.extensions?.code, "BAD_REQUEST");
  });

  it("serves /healthz", async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok", version: "0.1.0" });
  });
});

describe("dashboard files", () => {
  it("serves files with their content type and index.html for app routes", async () => {
    const index = await rawGet("/");
    assert.equal(index.status, 200);
    assert.equal(index.type, "text/html; charset=utf-8");
    assert.match(index.text, /<title>skillscope/);
    const js = await rawGet("/assets/app.js");
    assert.equal(js.type, "text/javascript; charset=utf-8");
    assert.equal(js.text, "console.log(1);");
    const route = await rawGet("/runs/12/neurons");
    assert.equal(route.status, 200);
    assert.match(route.text, /<title>skillscope/);
    assert.equal((await rawGet("/assets/missing.js")).status, 404);
  });

  it("never serves files outside the dashboard folder", async () => {
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/link.txt", "/%00index.html"]) {
      const res = await rawGet(path);
      assert.doesNotMatch(res.text, /do not serve/, path);
      assert.ok(res.status === 404 || res.status === 400 || /<title>skillscope/.test(res.text), `${path}: ${res.status}`);
    }
  });
});

describe("GraphQL over WebSocket", () => {
  it("delivers published training progress in order", async () => {
    server.live.publish("TRAINING_PROGRESS", "11", progress("11", 0));
    const client = wsClient();
    try {
      const it = client.iterate<{ trainingProgress: { seq: number; loss: number; valLoss: number | null } }>({
        query: 'subscription { trainingProgress(runId: "11") { seq loss valLoss } }',
      });
      // Event 0 is published before subscribing, so it arrives as the current state; once it has
      // arrived the server is listening, and every later event must follow in order.
      const first = await it.next();
      assert.equal(first.value!.data!.trainingProgress.seq, 0);
      const start = 1;
      for (let seq = start; seq < start + 30; seq++) server.live.publish("TRAINING_PROGRESS", "11", progress("11", seq));
      const seqs: number[] = [];
      for (let i = 0; i < 30; i++) {
        const r = await it.next();
        seqs.push(r.value!.data!.trainingProgress.seq);
        if (i === 1) assert.deepEqual(r.value!.data!.trainingProgress, { seq: start + 1, loss: 2 - (start + 1) / 100, valLoss: (start + 1) % 2 ? 1.5 : null });
      }
      assert.deepEqual(seqs, Array.from({ length: 30 }, (_, i) => start + i));
      await it.return?.();
    } finally {
      await client.dispose();
    }
  });

  it("gives a late subscriber the latest state first", async () => {
    const statuses: RunStatusEvent["status"][] = ["queued", "training", "extracting"];
    statuses.forEach((status, i) => server.live.publish("RUN_STATUS", "12", { runId: "12", status, at: new Date(1_000 * i) }));
    const client = wsClient();
    try {
      const it = client.iterate<{ runStatus: { status: string; at: string } }>({ query: 'subscription { runStatus(runId: "12") { status at } }' });
      assert.deepEqual((await it.next()).value!.data, { runStatus: { status: "EXTRACTING", at: new Date(2_000).toISOString() } });
      server.live.publish("RUN_STATUS", "12", { runId: "12", status: "done", at: new Date(5_000) });
      assert.deepEqual((await it.next()).value!.data, { runStatus: { status: "DONE", at: new Date(5_000).toISOString() } });
      await it.return?.();
    } finally {
      await client.dispose();
    }
  });

  it("ranks and slices a leaderboard to k", async () => {
    server.live.publish("NEURON_LEADERBOARD", "13\u0000label", {
      runId: "13",
      metric: "label",
      samplesSeen: 64,
      entries: [
        { layer: 3, index: 7, r: -0.9, bestPosition: 4 },
        { layer: 1, index: 2, r: 0.8, bestPosition: 0 },
        { layer: 0, index: 5, r: 0.1, bestPosition: 19 },
      ],
    });
    const client = wsClient();
    try {
      const it = client.iterate({ query: 'subscription { neuronLeaderboard(runId: "13", metric: "label", k: 2) { samplesSeen neurons { id rank r bestPosition } } }' });
      assert.deepEqual((await it.next()).value!.data, {
        neuronLeaderboard: {
          samplesSeen: 64,
          neurons: [
            { id: "L3.N7", rank: 1, r: -0.9, bestPosition: 4 },
            { id: "L1.N2", rank: 2, r: 0.8, bestPosition: 0 },
          ],
        },
      });
      await it.return?.();
    } finally {
      await client.dispose();
    }
  });

  it("refuses k over the page limit with BAD_USER_INPUT, and over-deep operations", async () => {
    const client = wsClient();
    try {
      const big = client.iterate({ query: 'subscription { neuronLeaderboard(runId: "13", metric: "label", k: 5000) { samplesSeen } }' });
      const r = await big.next();
      assert.equal(r.value?.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
      assert.match(r.value!.errors![0]!.message, /k: 5000 is above the page limit of 1000/);
      await assert.rejects(
        client.iterate({ query: TOO_DEEP }).next(),
        (errors: unknown) => {
          assert.equal((errors as { extensions: { code: string } }[])[0]?.extensions.code, "LIMIT_EXCEEDED");
          return true;
        },
      );
    } finally {
      await client.dispose();
    }
  });
});

describe("mutations over WebSocket", () => {
  it("need the token in connectionParams", async () => {
    const mutation = 'mutation { deleteRun(id: "424242") }';
    const anon = wsClient();
    const authed = wsClient({ authorization: `Bearer ${token}` });
    try {
      await assert.rejects(anon.iterate({ query: mutation }).next(), (errors: unknown) => {
        assert.equal((errors as { extensions: { code: string } }[])[0]?.extensions.code, "UNAUTHENTICATED");
        return true;
      });
      const r = await authed.iterate({ query: mutation }).next();
      assert.equal(r.value?.errors?.[0]?.extensions?.code, "NOT_FOUND");
    } finally {
      await anon.dispose();
      await authed.dispose();
    }
  });
});

describe("CORS", () => {
  it("is off by default", async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://elsewhere.example" },
      body: JSON.stringify({ query: "{ serverInfo { version } }" }),
    });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  it("answers preflights of configured origins only", async () => {
    const other = await startServer({ dataDir: join(dir, "cors"), port: 0, corsOrigins: ["http://app.example"] });
    try {
      const preflight = await fetch(`${other.url}/graphql`, {
        method: "OPTIONS",
        headers: { origin: "http://app.example", "access-control-request-method": "POST" },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "http://app.example");
      assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/);
      const foreign = await fetch(`${other.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://evil.example" },
        body: JSON.stringify({ query: "{ serverInfo { version } }" }),
      });
      assert.equal(foreign.headers.get("access-control-allow-origin"), null);
    } finally {
      await other.close();
    }
  });
});

describe("start", () => {
  it("leaves signal handling to the process owner (close() also closes the database)", () => {
    assert.equal(process.listenerCount("SIGTERM"), sigtermListeners);
  });

  it("refuses a busy port with the listen error and releases its database", async () => {
    const port = Number(new URL(server.url).port);
    const dataDir = join(dir, "busy");
    await assert.rejects(startServer({ dataDir, port }), (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE");
    const again = await startServer({ dataDir, port: 0 });
    await again.close();
  });
});

describe("graceful close", () => {
  it("finishes a request in flight, closes subscriptions, then stops listening", async () => {
    const client = wsClient();
    const it = client.iterate({ query: 'subscription { trainingProgress(runId: "99") { seq } }' });
    server.live.publish("TRAINING_PROGRESS", "99", progress("99", 0));
    assert.equal(((await it.next()).value!.data as { trainingProgress: { seq: number } }).trainingProgress.seq, 0);

    // A request whose body is still arriving when close() is called.
    const url = new URL(server.url);
    const body = JSON.stringify({ query: "{ serverInfo { version } }" });
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: "/graphql", method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      });
      req.on("error", reject);
      req.write(body.slice(0, 5));
      setTimeout(() => req.end(body.slice(5)), 100);
    });
    await sleep(30);
    const closing = server.close();
    const answered = await inFlight;
    assert.equal(answered.status, 200);
    assert.deepEqual(JSON.parse(answered.text), { data: { serverInfo: { version: "0.1.0" } } });
    // graphql-ws closes sockets with 1001 Going Away on shutdown.
    await assert.rejects(it.next(), (event: unknown) => (event as { code: number }).code === 1001);
    await closing;
    await assert.rejects(fetch(`${server.url}/healthz`));
    await client.dispose();
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
