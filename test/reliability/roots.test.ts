import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getIntrospectionQuery } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { PLANTED, PLANTED_MODEL, gql, ok, startServe, waitForStatus, type GqlAnswer, type ServeChild } from "./harness.js";

/**
 * Roots that hold, against a real `skillscope serve --model-root R --task-root T` child process
 * (its log is read too): no file a model reads may resolve outside R (symlinked files, `..` in a
 * shard index), checked at registration and again when a run opens the model; no error quotes a
 * file; one folder (or task file) is one model (task) however it is spelled; the depth limit
 * holds for introspection; an oversized WebSocket frame costs one log line.
 */
let tmp: string;
let R: string;
let T: string;
let outside: string;
let server: ServeChild;

/** Bytes no message may ever contain: they are in files outside the roots (or inside, unparsable). */
const SECRET = "SECRET-7f3a";
const PASSWD = `root:x:0:0:${SECRET}:/root:/bin/bash\n`;

const REGISTER = `mutation ($p: String!) { registerModel(path: $p) { id path } }`;
const IMPORT = `mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`;

/** A copy of the planted model at `dir`, without the files named in `skip`. */
function modelCopy(dir: string, skip: readonly string[] = []): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ["config.json", "tokenizer.json", "model.safetensors"]) if (!skip.includes(f)) cpSync(join(PLANTED_MODEL, f), join(dir, f));
  return dir;
}

/** Tensor names of the planted checkpoint. */
function plantedTensors(): string[] {
  const bytes = readFileSync(join(PLANTED_MODEL, "model.safetensors"));
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8")) as Record<string, unknown>;
  return Object.keys(header).filter((k) => k !== "__metadata__");
}

/** A sharded folder at `dir` whose index maps every tensor to `shard` (relative to `dir`). */
function shardedModel(dir: string, shard: string): string {
  modelCopy(dir, ["model.safetensors"]);
  const weightMap = Object.fromEntries(plantedTensors().map((t) => [t, shard]));
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return dir;
}

function firstError(a: GqlAnswer<unknown>): { code: string; message: string; extensions: Record<string, unknown> } {
  assert.ok(a.errors?.length, `expected an error, got ${JSON.stringify(a.data)}`);
  return { code: a.errors![0]!.extensions.code, message: a.errors![0]!.message, extensions: a.errors![0]!.extensions };
}

const register = (path: string) => gql<{ registerModel: { id: string; path: string } }>(server.url, server.token, REGISTER, { p: path });

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "skillscope-roots-"));
  R = join(tmp, "R");
  T = join(tmp, "T");
  outside = join(tmp, "outside");
  mkdirSync(R);
  mkdirSync(T);
  modelCopy(outside);
  writeFileSync(join(outside, "passwd"), PASSWD);
  writeFileSync(join(outside, "hostname"), `${SECRET}-host\n`);
  cpSync(join(PLANTED_MODEL, "model.safetensors"), join(outside, "w.safetensors"));

  // 1. a weight file, and a config.json, that are symlinks out of R
  modelCopy(join(R, "m2"), ["model.safetensors"]);
  symlinkSync(join(outside, "model.safetensors"), join(R, "m2", "model.safetensors"));
  modelCopy(join(R, "m3"), ["config.json"]);
  symlinkSync(join(outside, "config.json"), join(R, "m3", "config.json"));
  // 2. config.json / tokenizer.json symlinked to files whose content must never be quoted
  modelCopy(join(R, "m5"), ["config.json"]);
  symlinkSync(join(outside, "passwd"), join(R, "m5", "config.json"));
  modelCopy(join(R, "m5t"), ["tokenizer.json"]);
  symlinkSync(join(outside, "hostname"), join(R, "m5t", "tokenizer.json"));
  // 3. a shard index climbing out with ..; and one whose .. stays inside R
  shardedModel(join(R, "m6"), "../../outside/w.safetensors");
  mkdirSync(join(R, "shared"));
  cpSync(join(PLANTED_MODEL, "model.safetensors"), join(R, "shared", "w.safetensors"));
  shardedModel(join(R, "m6in"), "../shared/w.safetensors");
  // parse errors inside R: where and what, no bytes
  modelCopy(join(R, "badcfg"), ["config.json"]);
  writeFileSync(join(R, "badcfg", "config.json"), `{\n  "model_type": "gpt2",\n  ${SECRET}: 1\n}\n`);
  modelCopy(join(R, "badtok"), ["tokenizer.json"]);
  writeFileSync(join(R, "badtok", "tokenizer.json"), JSON.stringify({ version: "1.0", model: { type: "BPE", vocab: { a: SECRET }, merges: [] } }));
  shardedModel(join(R, "badindex"), "model.safetensors");
  writeFileSync(join(R, "badindex", "model.safetensors.index.json"), `{"weight_map": {"wte.weight": ${SECRET}}}`);
  // 6. one folder spelled three ways
  modelCopy(join(R, "demo", "model"));
  symlinkSync(join(R, "demo", "model"), join(R, "alias"));
  // a folder that is valid when registered and changed before its run opens it
  modelCopy(join(R, "changes"));

  cpSync(join(PLANTED, "task.jsonl"), join(T, "task.jsonl"));
  mkdirSync(join(T, "sub"));

  server = await startServe(join(tmp, "data"), ["--model-root", R, "--task-root", T]);
});

after(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("every file a model reads must resolve inside a model root", () => {
  const outsideCases: { name: string; folder: string; file: RegExp }[] = [
    { name: "a weight file symlinked out of the root", folder: "m2", file: /^model\.safetensors: resolves outside the model roots/ },
    { name: "a config.json symlinked out of the root", folder: "m3", file: /^config\.json: resolves outside the model roots/ },
    { name: "a config.json symlinked to a passwd-like file", folder: "m5", file: /^config\.json: resolves outside the model roots/ },
    { name: "a tokenizer.json symlinked to a hostname-like file", folder: "m5t", file: /^tokenizer\.json: resolves outside the model roots/ },
    { name: "a shard index entry climbing out with ..", folder: "m6", file: /^\.\.\/\.\.\/outside\/w\.safetensors: resolves outside the model roots/ },
  ];
  for (const c of outsideCases) {
    it(`refuses ${c.name} with FORBIDDEN naming the file, not its content`, async () => {
      const e = firstError(await register(join(R, c.folder)));
      assert.equal(e.code, "FORBIDDEN", e.message);
      assert.match(e.message, c.file);
      assert.ok(!e.message.includes(SECRET) && !e.message.includes("root:x"), e.message);
      assert.ok(!e.message.includes(outside), `the message names the link's target: ${e.message}`);
    });
  }

  it("accepts a shard index whose .. entries stay inside the root, and runs on it", async () => {
    const m = ok(await register(join(R, "m6in"))).registerModel;
    const status = await runOn(m.id, "m6in");
    assert.equal(status.status, "DONE", status.error ?? "");
  });

  it("checks again when a run opens the model: a folder changed after registration fails FORBIDDEN", async () => {
    const m = ok(await register(join(R, "changes"))).registerModel;
    unlinkSync(join(R, "changes", "model.safetensors"));
    symlinkSync(join(outside, "model.safetensors"), join(R, "changes", "model.safetensors"));
    const status = await runOn(m.id, "changes");
    assert.equal(status.status, "FAILED");
    assert.match(status.error ?? "", /^FORBIDDEN: model\.safetensors: resolves outside the model roots/);
  });
});

/** Imports the planted task (once per name) and runs 2 training steps on `modelId`. */
async function runOn(modelId: string, name: string): Promise<{ status: string; error: string | null }> {
  const t = ok(await gql<{ importTask: { id: string } }>(server.url, server.token, IMPORT, {
    i: { name, path: join(T, "task.jsonl"), template: "{text} question", verbalizer: { "0": "no", "1": "yes" } },
  })).importTask.id;
  const run = ok(await gql<{ startRun: { id: string } }>(server.url, server.token,
    `mutation { startRun(modelId: "${modelId}", taskId: "${t}", options: { promptLength: 2, steps: 2, batchSize: 4, evalEvery: 0, threads: 1, layers: [0] }) { id } }`)).startRun.id;
  return waitForStatus(server.url, server.token, run, ["DONE", "FAILED"]);
}

describe("parse errors say where and what, and quote no bytes of the file", () => {
  const cases: { name: string; folder: string; message: RegExp }[] = [
    { name: "config.json", folder: "badcfg", message: /^\S*\/badcfg\/config\.json: not valid JSON at line 3, column 3 \(character 28\): expected a JSON value or punctuation, found another character/ },
    { name: "tokenizer.json", folder: "badtok", message: /^tokenizer\.json: not a tokenizer the tokenizers library can load at line 1, column \d+: expected u32/ },
    { name: "model.safetensors.index.json", folder: "badindex", message: /^model\.safetensors\.index\.json: not valid JSON at line 1, column 31 \(character 30\): expected a JSON value or punctuation/ },
  ];
  for (const c of cases) {
    it(`a broken ${c.name}`, async () => {
      const e = firstError(await register(join(R, c.folder)));
      assert.equal(e.code, "BAD_USER_INPUT", e.message);
      assert.match(e.message, c.message);
      assert.ok(!e.message.includes(SECRET), e.message);
    });
  }
});

describe("one folder, one model; one task file, one task", () => {
  it("registering the same folder by another spelling (.., a symlink inside the root) returns the existing model", async () => {
    const first = ok(await register(join(R, "demo", "model"))).registerModel;
    const dotted = ok(await register(`${R}/demo/model/../../demo/model`)).registerModel;
    const linked = ok(await register(join(R, "alias"))).registerModel;
    assert.equal(dotted.id, first.id);
    assert.equal(linked.id, first.id);
    const models = ok(await gql<{ models: { id: string; path: string }[] }>(server.url, server.token, `{ models { id path } }`)).models;
    assert.equal(models.filter((m) => m.path === first.path).length, 1, JSON.stringify(models));
  });

  it("importing the same file twice (by its real path) with the same settings returns the existing task; other settings make another", async () => {
    const input = (path: string, template = "{text} question") => ({ i: { name: "dup", path, template, verbalizer: { "0": "no", "1": "yes" } } });
    const a = ok(await gql<{ importTask: { id: string } }>(server.url, server.token, IMPORT, input(join(T, "task.jsonl")))).importTask.id;
    const b = ok(await gql<{ importTask: { id: string } }>(server.url, server.token, IMPORT, input(`${T}/sub/../task.jsonl`))).importTask.id;
    const c = ok(await gql<{ importTask: { id: string } }>(server.url, server.token, IMPORT, input(join(T, "task.jsonl"), "{text}?"))).importTask.id;
    assert.equal(b, a);
    assert.notEqual(c, a);
  });
});

describe("depth and complexity limits hold for introspection", () => {
  const ofTypes = (n: number): string => (n === 0 ? "name" : `ofType { ${ofTypes(n - 1)} }`);
  const deep = `{ __type(name: "Run") { ${ofTypes(200)} } }`;
  const wide = `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: __schema { types { fields { name } } }`).join(" ")} }`;

  it("refuses an ofType chain 200 deep over HTTP with LIMIT_EXCEEDED", async () => {
    const e = firstError(await gql(server.url, undefined, deep));
    assert.equal(e.code, "LIMIT_EXCEEDED");
    assert.match(e.message, /depth of this operation is \d+, above the limit of 12/);
  });

  it("refuses it over WebSocket with the same error", async () => {
    const client = createClient({ url: `${server.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const it = client.iterate({ query: deep });
      const got = await it.next().then(
        (r) => r.value?.errors?.[0],
        (errors: { message: string; extensions: { code: string } }[]) => errors[0],
      );
      assert.equal(got?.extensions?.code, "LIMIT_EXCEEDED");
      assert.match(got?.message ?? "", /depth of this operation/);
    } finally {
      await client.dispose();
    }
  });

  it("counts introspection lists at their size: an alias bomb of schema dumps is refused", async () => {
    const e = firstError(await gql(server.url, undefined, wide));
    assert.equal(e.code, "LIMIT_EXCEEDED");
    assert.match(e.message, /complexity/);
  });

  it("still answers the standard introspection query", async () => {
    const data = ok(await gql<{ __schema: { types: unknown[] } }>(server.url, undefined, getIntrospectionQuery()));
    assert.ok(data.__schema.types.length > 20);
  });
});

describe("an oversized WebSocket frame", () => {
  it("is refused with 1009 and logged as one line with the peer and the size, no stack trace", async () => {
    const before = server.output().length;
    const size = 3 * 1024 * 1024 + 17;
    const closed = await new Promise<{ code: number; port: number }>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
      const timer = setTimeout(() => reject(new Error("no close within 5 s")), 5000);
      let port = 0;
      ws.on("open", () => {
        port = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
        ws.send(Buffer.alloc(size, 0x20));
      });
      ws.on("error", () => undefined);
      ws.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, port });
      });
    });
    assert.equal(closed.code, 1009);
    // the log line is written as the server refuses; give its pipe a moment
    for (let i = 0; i < 50 && !server.output().slice(before).includes("\n"); i++) await new Promise((r) => setTimeout(r, 20));
    const log = server.output().slice(before).trim().split("\n");
    assert.equal(log.length, 1, log.join("\n"));
    assert.equal(log[0], `skillscope: refused a WebSocket message of ${size} bytes from 127.0.0.1:${closed.port} (limit 1048576 bytes)`);
    assert.doesNotMatch(server.output(), /\n\s+at |RangeError|Internal error/);
  });

  it("a malformed frame from a runner on /ingest closes that connection only (1007), with one log line", async () => {
    const before = server.output().length;
    const code = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/ingest`, { headers: { authorization: `Bearer ${server.token}` } });
      const timer = setTimeout(() => reject(new Error("no close within 5 s")), 5000);
      // a text frame that is not UTF-8
      ws.on("open", () => ws.send(Buffer.from([0xff, 0xfe, 0xc3]), { binary: false }));
      ws.on("error", () => undefined);
      ws.on("close", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 1007);
    for (let i = 0; i < 50 && !server.output().slice(before).includes("\n"); i++) await new Promise((r) => setTimeout(r, 20));
    const log = server.output().slice(before).trim().split("\n");
    assert.equal(log.length, 1, log.join("\n"));
    assert.match(log[0]!, /^skillscope: closed the WebSocket connection from 127\.0\.0\.1:\d+: Invalid WebSocket frame: invalid UTF-8 sequence$/);
    assert.equal(server.proc.exitCode, null, "the server is still running");
    ok(await gql(server.url, undefined, "{ serverInfo { version } }"));
  });
});
