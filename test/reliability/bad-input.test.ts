import "reflect-metadata";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { startServer, type RunningServer } from "../../server/http/server.js";
import { PLANTED, PLANTED_MODEL, gql, ok, waitForStatus, type GqlAnswer } from "./harness.js";

/**
 * One table of bad inputs end to end through a real server, each with the error it must get
 * (code + message fragment). What unit tests already cover (task rows, safetensors headers,
 * limits arithmetic, HTTP body size) is not repeated; this adds weights, run-time task faults,
 * GraphQL bombs over both transports, malformed graphql-ws traffic and path escapes.
 */
let tmp: string;
let server: RunningServer;
let token: string;
let modelsDir: string;
let tasksDir: string;

/** The planted model with `poison` applied to its float32 weights (tensor name -> data view). */
function poisonedModel(name: string, poison: (tensors: Map<string, Float32Array>) => void): string {
  const dir = join(modelsDir, name);
  cpSync(PLANTED_MODEL, dir, { recursive: true });
  const file = join(dir, "model.safetensors");
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const base = 8 + headerLength;
  const tensors = new Map<string, Float32Array>();
  for (const [tensor, info] of Object.entries(header)) {
    if (tensor === "__metadata__") continue;
    const [from, to] = info.data_offsets;
    const copy = new Float32Array(bytes.buffer.slice(bytes.byteOffset + base + from, bytes.byteOffset + base + to));
    tensors.set(tensor, copy);
  }
  poison(tensors);
  for (const [tensor, data] of tensors) Buffer.from(data.buffer).copy(bytes, base + header[tensor]!.data_offsets[0]);
  writeFileSync(file, bytes);
  return dir;
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "skillscope-bad-input-"));
  modelsDir = join(tmp, "models");
  tasksDir = join(tmp, "tasks");
  mkdirSync(modelsDir);
  mkdirSync(tasksDir);
  cpSync(PLANTED_MODEL, join(modelsDir, "planted"), { recursive: true });
  cpSync(join(PLANTED, "task.jsonl"), join(tasksDir, "task.jsonl"));
  writeFileSync(join(tmp, "outside.jsonl"), '{"answer": "a"}\n{"answer": "b"}\n');
  symlinkSync(PLANTED_MODEL, join(modelsDir, "escape"));
  symlinkSync(join(PLANTED, "task.jsonl"), join(tasksDir, "escape.jsonl"));
  poisonedModel("nan-bias", (t) => (t.get("h.0.mlp.c_fc.bias")![3] = Number.NaN));
  poisonedModel("inf-embedding", (t) => {
    const wte = t.get("wte.weight")!;
    for (let row = 0; row < 64; row++) wte[row * 32] = Number.POSITIVE_INFINITY;
  });
  // a task whose rows are longer than the model's 64 positions
  const long = Array.from({ length: 6 }, (_, i) => ({ id: `l${i}`, text: "red ".repeat(80), label: i % 2, split: i < 4 ? "train" : "val" }));
  writeFileSync(join(tasksDir, "too-long.jsonl"), long.map((r) => JSON.stringify(r)).join("\n") + "\n");
  server = await startServer({ dataDir: join(tmp, "data"), port: 0, modelRoots: [modelsDir], taskRoots: [tasksDir], dashboardDir: join(tmp, "none") });
  token = readFileSync(join(tmp, "data", "token"), "utf8").trim();
});

after(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const REGISTER = `mutation ($p: String!) { registerModel(path: $p) { id } }`;
const IMPORT = `mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`;
const importInput = (extra: Record<string, unknown>) => ({ name: "t", template: "{text} question", verbalizer: { "0": "no", "1": "yes" }, ...extra });

/** Registers `model`, imports `task`, runs both; returns the run's final status and error. */
async function runOn(model: string, task: string): Promise<{ status: string; error: string | null }> {
  const m = ok(await gql<{ registerModel: { id: string } }>(server.url, token, REGISTER, { p: model })).registerModel.id;
  const t = ok(await gql<{ importTask: { id: string } }>(server.url, token, IMPORT, { i: importInput({ path: task }) })).importTask.id;
  const run = ok(await gql<{ startRun: { id: string } }>(server.url, token, `mutation { startRun(modelId: "${m}", taskId: "${t}", options: { promptLength: 4, steps: 3, batchSize: 4, evalEvery: 0, threads: 1 }) { id } }`)).startRun.id;
  return waitForStatus(server.url, token, run, ["DONE", "FAILED"]);
}

/** Code and message of the first error of an answer. */
function firstError(a: GqlAnswer<unknown>): { code: string; message: string } {
  assert.ok(a.errors?.length, `expected an error, got ${JSON.stringify(a.data)}`);
  return { code: a.errors![0]!.extensions.code, message: a.errors![0]!.message };
}

/** Opens a raw graphql-transport-ws socket, sends `frames`, resolves with the close code the server chose. */
function rawSocket(frames: (string | Buffer)[]): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error("the server did not close the socket within 5 s"));
    }, 5000);
    ws.on("open", () => frames.forEach((f) => ws.send(f)));
    ws.on("error", () => undefined);
    ws.on("close", (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** First result of a subscription over graphql-ws: its errors, or "rejected" errors from the server's refusal. */
async function subscribeOnce(query: string, waitMs = 2000): Promise<{ code: string; message: string } | "silent" | "data"> {
  const client = createClient({ url: `${server.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    const it = client.iterate({ query });
    const first = await Promise.race([
      it.next().then(
        (r) => (r.value?.errors?.length ? { code: String(r.value.errors[0]!.extensions?.code), message: r.value.errors[0]!.message } : ("data" as const)),
        (errors: { extensions: { code: string }; message: string }[]) => ({ code: errors[0]!.extensions.code, message: errors[0]!.message }),
      ),
      new Promise<"silent">((r) => setTimeout(() => r("silent"), waitMs)),
    ]);
    void it.return?.();
    return first;
  } finally {
    await client.dispose();
  }
}

interface Case {
  name: string;
  act: () => Promise<{ code: string; message: string }>;
  code: string;
  fragment: RegExp;
}

const aliasBomb = `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: runs(first: 1000) { edges { node { id status error metrics { name } } } }`).join(" ")} }`;
const fragmentBomb = `{ serverInfo { ...F0 } } ${Array.from({ length: 40 }, (_, i) => (i === 39 ? `fragment F${i} on ServerInfo { version }` : `fragment F${i} on ServerInfo { ...F${i + 1} ...F${i + 1} }`)).join(" ")}`;

const CASES: Case[] = [
  // checkpoints: non-finite weights stop the run at its first forward, naming the cause
  { name: "a NaN in an FFN bias", act: async () => ({ code: "FAILED", message: (await runOn(join(modelsDir, "nan-bias"), join(tasksDir, "task.jsonl"))).error ?? "" }), code: "FAILED", fragment: /^NON_FINITE: .*NaN.*check the model weights/ },
  { name: "+Inf in the token embeddings", act: async () => ({ code: "FAILED", message: (await runOn(join(modelsDir, "inf-embedding"), join(tasksDir, "task.jsonl"))).error ?? "" }), code: "FAILED", fragment: /^NON_FINITE: .*check the model weights/ },
  // tasks: what only the model can tell (rows too long for its context)
  { name: "task rows longer than the model's context", act: async () => ({ code: "FAILED", message: (await runOn(join(modelsDir, "planted"), join(tasksDir, "too-long.jsonl"))).error ?? "" }), code: "FAILED", fragment: /^BAD_INPUT: rows\.train\[0\] \(id l\d+\): .*exceed the limit 64/ },
  { name: "a verbalizer that is a list", act: async () => firstError(await gql(server.url, token, IMPORT, { i: importInput({ path: join(tasksDir, "task.jsonl"), verbalizer: ["no", "yes"] }) })), code: "BAD_USER_INPUT", fragment: /verbalizer/i },
  { name: "a template with an unclosed brace", act: async () => firstError(await gql(server.url, token, IMPORT, { i: importInput({ path: join(tasksDir, "task.jsonl"), template: "{text question" }) })), code: "BAD_USER_INPUT", fragment: /\{/ },
  // paths
  { name: "a model symlink inside the root leading out of it", act: async () => firstError(await gql(server.url, token, REGISTER, { p: join(modelsDir, "escape") })), code: "FORBIDDEN", fragment: /outside the configured model roots/ },
  { name: "a task symlink inside the root leading out of it", act: async () => firstError(await gql(server.url, token, IMPORT, { i: importInput({ path: join(tasksDir, "escape.jsonl") }) })), code: "FORBIDDEN", fragment: /outside the configured task roots/ },
  { name: "a task path climbing out with ..", act: async () => firstError(await gql(server.url, token, IMPORT, { i: importInput({ path: `${tasksDir}/../outside.jsonl` }) })), code: "FORBIDDEN", fragment: /outside the configured task roots/ },
  { name: "a model path of the filesystem root", act: async () => firstError(await gql(server.url, token, REGISTER, { p: "/" })), code: "FORBIDDEN", fragment: /outside/ },
  // GraphQL over HTTP
  { name: "an alias bomb over HTTP", act: async () => firstError(await gql(server.url, undefined, aliasBomb)), code: "LIMIT_EXCEEDED", fragment: /complexity/ },
  { name: "a fragment bomb over HTTP", act: async () => firstError(await gql(server.url, undefined, fragmentBomb)), code: "LIMIT_EXCEEDED", fragment: /expands to more than 10000 fields/ },
  { name: "runs(first:) beyond the page limit", act: async () => firstError(await gql(server.url, undefined, `{ runs(first: 1001) { edges { node { id } } } }`)), code: "BAD_USER_INPUT", fragment: /first: 1001 is above the page limit of 1000/ },
  { name: "a syntax error", act: async () => firstError(await gql(server.url, undefined, `{ runs { `)), code: "GRAPHQL_PARSE_FAILED", fragment: /Syntax Error/ },
  { name: "an unknown field", act: async () => firstError(await gql(server.url, undefined, `{ nope }`)), code: "GRAPHQL_VALIDATION_FAILED", fragment: /nope/ },
  { name: "a variable of the wrong type", act: async () => firstError(await gql(server.url, undefined, `query ($id: ID!) { run(id: $id) { id } }`, { id: { $gt: 1 } })), code: "BAD_USER_INPUT", fragment: /^Variable "\$id" got invalid value/ },
  // GraphQL over WebSocket
  { name: "an alias bomb over WebSocket", act: async () => subscribeOnce(aliasBomb) as Promise<{ code: string; message: string }>, code: "LIMIT_EXCEEDED", fragment: /complexity/ },
  { name: "a fragment bomb over WebSocket", act: async () => subscribeOnce(fragmentBomb) as Promise<{ code: string; message: string }>, code: "LIMIT_EXCEEDED", fragment: /expands to more than 10000 fields/ },
  { name: "a subscription to a malformed run id", act: async () => subscribeOnce(`subscription { trainingProgress(runId: "../1") { seq } }`) as Promise<{ code: string; message: string }>, code: "BAD_USER_INPUT", fragment: /not an id/ },
  { name: "a status subscription to a malformed run id", act: async () => subscribeOnce(`subscription { runStatus(runId: "-3") { status } }`) as Promise<{ code: string; message: string }>, code: "BAD_USER_INPUT", fragment: /not an id/ },
  { name: "a malformed graphql-ws message", act: async () => closeOf(rawSocket(["not json"])), code: "4400", fragment: /Invalid message/ },
  { name: "a graphql-ws message of unknown type", act: async () => closeOf(rawSocket([JSON.stringify({ type: "connection_init" }), JSON.stringify({ type: "bogus" })])), code: "4400", fragment: /Invalid message/ },
  { name: "a subscribe without an id", act: async () => closeOf(rawSocket([JSON.stringify({ type: "connection_init" }), JSON.stringify({ type: "subscribe", payload: { query: "{ runs { totalCount } }" } })])), code: "4400", fragment: /Invalid message/ },
  { name: "a subscribe before connection_init", act: async () => closeOf(rawSocket([JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ serverInfo { version } }" } })])), code: "4401", fragment: /Unauthorized/ },
  { name: "a second connection_init", act: async () => closeOf(rawSocket([JSON.stringify({ type: "connection_init" }), JSON.stringify({ type: "connection_init" })])), code: "4429", fragment: /Too many initialisation requests/ },
  { name: "a WebSocket message over the body limit", act: async () => closeOf(rawSocket([Buffer.alloc(2 * 1024 * 1024, 0x20)])), code: "1009", fragment: /^$/ },
];

async function closeOf(closed: Promise<{ code: number; reason: string }>): Promise<{ code: string; message: string }> {
  const { code, reason } = await closed;
  return { code: String(code), message: reason };
}

describe("bad input gets a clear, typed error", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const got = await c.act();
      assert.equal(got.code, c.code, got.message);
      assert.match(got.message, c.fragment);
    });
  }
});

describe("and changes nothing", () => {
  it("no model or task was stored by a refused registration or import", async () => {
    const models = ok(await gql<{ models: { path: string }[] }>(server.url, token, `{ models { path } }`)).models.map((m) => m.path);
    assert.ok(!models.some((p) => p.endsWith("escape") || p === "/"), models.join(", "));
    const tasks = ok(await gql<{ tasks: { source: string }[] }>(server.url, token, `{ tasks { source } }`)).tasks.map((t) => t.source);
    assert.ok(!tasks.some((s) => /escape|outside/.test(s)), tasks.join(", "));
    // the run cases import two files (task.jsonl twice with the same settings: one task)
    assert.equal(tasks.length, 2, "only the imports of the run cases");
  });

  it("a subscription to a run that does not exist is an empty state: no error, no event, until one is published", async () => {
    assert.equal(await subscribeOnce(`subscription { trainingProgress(runId: "987654") { seq } }`, 500), "silent");
    assert.equal(await subscribeOnce(`subscription { runStatus(runId: "987654") { status } }`, 500), "silent");
  });
});
