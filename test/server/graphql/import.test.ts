import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer, type RunningServer } from "../../../server/http/server.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const modelsDir = join(root, "test/fixtures/models");
const tasksDir = join(root, "test/fixtures/tasks");

let dir: string;
let server: RunningServer;
let token: string;

type Answer<T> = { status: number; data?: T; errors?: { message: string; extensions: Record<string, unknown> & { code: string } }[] };

async function mutate<T>(query: string, variables: Record<string, unknown>, authorized = true): Promise<Answer<T>> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorized ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-import-"));
  server = await startServer({ dataDir: dir, port: 0, modelRoots: [modelsDir], taskRoots: [tasksDir], dashboardDir: join(dir, "none") });
  token = (await readFile(join(dir, "token"), "utf8")).trim();
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const REGISTER = "mutation ($path: String!) { registerModel(path: $path) { id path family config } }";

describe("registerModel", () => {
  it("registers a checkpoint folder inside the model roots", async () => {
    const res = await mutate<{ registerModel: { id: string; path: string; family: string; config: { nLayers: number; dFF: number } } }>(REGISTER, {
      path: join(modelsDir, "gpt2-tiny"),
    });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const expected = JSON.parse(await readFile(join(modelsDir, "gpt2-tiny", "config.json"), "utf8")) as { n_layer: number };
    assert.equal(res.data!.registerModel.family, "gpt2");
    assert.equal(res.data!.registerModel.path, join(modelsDir, "gpt2-tiny"));
    assert.equal(res.data!.registerModel.config.nLayers, expected.n_layer);
    const listed = await mutate<{ models: { id: string; family: string }[] }>("{ models { id family } }", {});
    assert.ok(listed.data!.models.some((m) => m.id === res.data!.registerModel.id && m.family === "gpt2"));
  });

  it("refuses folders outside the roots, missing folders and relative paths", async () => {
    assert.equal((await mutate(REGISTER, { path: tasksDir })).errors?.[0]?.extensions.code, "FORBIDDEN");
    assert.equal((await mutate(REGISTER, { path: join(modelsDir, "..", "tasks") })).errors?.[0]?.extensions.code, "FORBIDDEN");
    assert.equal((await mutate(REGISTER, { path: join(modelsDir, "missing") })).errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    assert.equal((await mutate(REGISTER, { path: "gpt2-tiny" })).errors?.[0]?.extensions.code, "BAD_USER_INPUT");
  });

  it("refuses a folder that is not a checkpoint with the loader's message", async () => {
    const res = await mutate(REGISTER, { path: modelsDir });
    assert.equal(res.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    assert.match(res.errors![0]!.message, /config\.json/);
  });

  it("needs the token", async () => {
    const res = await mutate(REGISTER, { path: join(modelsDir, "gpt2-tiny") }, false);
    assert.equal(res.status, 401);
    assert.equal(res.errors?.[0]?.extensions.code, "UNAUTHENTICATED");
  });
});

const IMPORT = `mutation ($input: ImportTaskInput!) { importTask(input: $input) {
  id name source template verbalizer all: sampleCount val: sampleCount(split: "val") train: sampleCount(split: "train") } }`;
type Imported = { importTask: { id: string; name: string; source: string; verbalizer: unknown; all: number; val: number; train: number } };

describe("importTask", () => {
  const verbalizer = { "0": "negative", "1": "positive" };

  it("imports a task file inside the task roots", async () => {
    const file = join(tasksDir, "sst.jsonl");
    const lines = (await readFile(file, "utf8")).split("\n").filter((l) => l.trim() !== "");
    const res = await mutate<Imported>(IMPORT, { input: { name: "sst", template: "Review: {text}\nSentiment:", path: file, verbalizer } });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const task = res.data!.importTask;
    assert.deepEqual({ name: task.name, source: task.source, verbalizer: task.verbalizer, all: task.all }, { name: "sst", source: file, verbalizer, all: lines.length });
    assert.equal(task.val + task.train, lines.length);
  });

  it("imports inline rows with a seeded split", async () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, q: `${i}+1`, answer: String(i + 1) }));
    const input = { name: "add", template: "{q}=", rows, valFraction: 0.5, seed: 3 };
    const a = await mutate<Imported>(IMPORT, { input });
    const b = await mutate<Imported>(IMPORT, { input });
    assert.equal(a.errors, undefined, JSON.stringify(a.errors));
    assert.equal(a.data!.importTask.all, 20);
    assert.equal(a.data!.importTask.source, "<inline>");
    assert.equal(a.data!.importTask.val, b.data!.importTask.val);
    assert.ok(a.data!.importTask.val > 0 && a.data!.importTask.train > 0);
  });

  it("refuses bad rows with the row and field, and stores nothing", async () => {
    const before = await mutate<Imported>(IMPORT, { input: { name: "ok", template: "{q}", rows: [{ q: "a", answer: "b" }, { q: "c", answer: "d", split: "val" }, { q: "e", answer: "f", split: "train" }] } });
    assert.equal(before.errors, undefined, JSON.stringify(before.errors));
    const bad = await mutate(IMPORT, { input: { name: "bad", template: "{q}", rows: [{ q: "a", answer: "b" }, { q: "c" }] } });
    assert.equal(bad.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    assert.match(bad.errors![0]!.message, /:2\b/);
    const unknownField = await mutate(IMPORT, { input: { name: "bad", template: "{nope}", rows: [{ q: "a", answer: "b" }] } });
    assert.equal(unknownField.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    assert.match(unknownField.errors![0]!.message, /nope/);
    const after = await mutate<Imported>(IMPORT, { input: { name: "ok2", template: "{q}", rows: [{ q: "a", answer: "b" }, { q: "c", answer: "d", split: "val" }, { q: "e", answer: "f", split: "train" }] } });
    assert.equal(Number(after.data!.importTask.id), Number(before.data!.importTask.id) + 1, "no task was stored in between");
    const listed = await mutate<{ tasks: { id: string; name: string }[] }>("{ tasks { id name } }", {});
    assert.deepEqual(listed.data!.tasks.filter((t) => t.name.startsWith("ok")).map((t) => t.name), ["ok", "ok2"]);
  });

  it("refuses both or neither of path and rows, and files outside the roots", async () => {
    assert.equal((await mutate(IMPORT, { input: { name: "x", template: "{q}" } })).errors?.[0]?.extensions.code, "BAD_USER_INPUT");
    const outside = await mutate(IMPORT, { input: { name: "x", template: "{q}", path: join(modelsDir, "gpt2-tiny", "config.json") } });
    assert.equal(outside.errors?.[0]?.extensions.code, "FORBIDDEN");
  });
});
