/**
 * Probe, explain and neuron search over real HTTP on a trained run of the planted checkpoint
 * (L0.N7 reads the colour-word share), with an LLM stand-in process configured on the server; a
 * client that hangs up mid-probe ends the probe's worker thread.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
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
let llm: ChildProcess;

type Gql<T> = { data?: T; errors?: { message: string; extensions: { code: string } }[] };

async function gql<T>(query: string, variables: Record<string, unknown> = {}, authorized = false, signal?: AbortSignal): Promise<Gql<T>> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorized ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  return (await res.json()) as Gql<T>;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-explain-gql-"));
  const dbPath = join(dir, "skillscope.duckdb");
  const store = await Store.open(dbPath);
  const rows = readFileSync(join(planted, "task.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; text: string; label: number; colors: number; split: string });
  const taskId = await store.addTask({ name: "colours", source: "task.jsonl", template: "{text} question", verbalizer: { 0: "no", 1: "yes" } });
  const kept = rows.filter((r) => r.split === "train").slice(0, 60).concat(rows.filter((r) => r.split === "val").slice(0, 60));
  await store.addSamples(taskId, kept.map((r) => ({
    sampleId: r.id, split: r.split, fields: { text: r.text, colors: r.colors }, rendered: `${r.text} question`, answer: r.label ? "yes" : "no", label: String(r.label),
  })));
  const modelId = await store.addModel({ path: join(planted, "model"), family: "gpt2", config: {} });
  const manager = new RunManager(store, { leaderboardIntervalMs: 0 });
  const run = await manager.start({ modelId, taskId, options: { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 3, seed: 1, threads: 1 } });
  await manager.whenIdle();
  await manager.close();
  assert.equal((await store.getRun(run.id)).status, "done");
  runId = run.id;
  await store.close();

  llm = spawn(process.execPath, [fileURLToPath(new URL("../explain/fake-llm-server.js", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, SKILLSCOPE_FAKE_LLM: "1" } });
  const [line] = (await once(llm.stdout!, "data")) as [Buffer];
  const port = (JSON.parse(line.toString()) as { port: number }).port;
  process.env.TEST_LLM_KEY = "test-key";
  server = await startServer({
    dataDir: dir, port: 0, dashboardDir: join(dir, "none"), modelRoots: [planted],
    llm: { url: `http://127.0.0.1:${port}/v1`, model: "stand-in", apiKey: process.env.TEST_LLM_KEY },
  });
  token = readFileSync(join(dir, "token"), "utf8").trim();
});

after(async () => {
  await server?.close();
  llm?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

const PROBE = `query ($run: ID!, $texts: [String!], $rows: [JSONObject!], $raw: Boolean, $answer: String) {
  probe(runId: $run, texts: $texts, rows: $rows, neuronIds: ["L0.N7"], metric: "colors", raw: $raw, answer: $answer) {
    neurons { id bestPosition r }
    samples { id instruction answer prediction goldProb correct readings { neuronId activations atBest percentile } }
  } }`;

type ProbeData = { probe: { neurons: { id: string; bestPosition: number; r: number }[]; samples: { id: string; instruction: string; answer: string | null; prediction: string; goldProb: number | null; correct: boolean | null; readings: { neuronId: string; activations: number[]; atBest: number; percentile: number }[] }[] } };

test("probe over HTTP: texts (template or raw), task rows with a gold label, and typed refusals", async () => {
  const texts = await gql<ProbeData>(PROBE, { run: String(runId), texts: ["the cat sat on the mat", "red blue green red"], answer: "yes" });
  assert.equal(texts.errors, undefined, JSON.stringify(texts.errors));
  const [plain, colours] = texts.data!.probe.samples;
  assert.equal(plain!.instruction, "the cat sat on the mat question");
  assert.ok(colours!.readings[0]!.atBest > plain!.readings[0]!.atBest);
  assert.equal(colours!.readings[0]!.activations.length, 4);
  assert.equal(plain!.answer, "yes");
  assert.ok(plain!.goldProb! > 0 && plain!.goldProb! < 1);

  const raw = await gql<ProbeData>(PROBE, { run: String(runId), texts: ["the cat sat on the mat question"], raw: true });
  assert.ok(Math.abs(raw.data!.probe.samples[0]!.readings[0]!.atBest - plain!.readings[0]!.atBest) < 1e-6, "raw text = the template applied by hand");
  const rows = await gql<ProbeData>(PROBE, { run: String(runId), rows: [{ id: "mine", text: "green green dog", label: 1 }] });
  assert.deepEqual([rows.data!.probe.samples[0]!.id, rows.data!.probe.samples[0]!.answer], ["mine", "yes"]);

  const bad = async (variables: Record<string, unknown>) => (await gql(PROBE, { run: String(runId), ...variables })).errors?.[0]?.extensions.code;
  assert.equal(await bad({}), "BAD_USER_INPUT");
  assert.equal(await bad({ rows: [{ words: "red" }] }), "BAD_USER_INPUT");
  assert.equal((await gql(`{ probe(runId: "${runId}", texts: ["red"], neuronIds: ["N7"]) { metric } }`)).errors?.[0]?.extensions.code, "BAD_USER_INPUT");
  assert.equal((await gql(`{ probe(runId: "999", texts: ["red"]) { metric } }`)).errors?.[0]?.extensions.code, "NOT_FOUND");
});

test("a client that hangs up mid-probe ends the probe's worker; a full probe of the same inputs takes far longer", async (t) => {
  const threads = () => readdirSync("/proc/self/task").length;
  const baseline = threads();
  const texts = Array.from({ length: 10_000 }, (_, i) => `red cat ${i % 7 === 0 ? "blue" : "dog"} sat on the mat ${i}`);
  const t0 = performance.now();
  const full = await gql<ProbeData>(PROBE, { run: String(runId), texts });
  const fullMs = performance.now() - t0;
  assert.equal(full.data?.probe.samples.length, 10_000, JSON.stringify(full.errors));

  const controller = new AbortController();
  const pending = gql(PROBE, { run: String(runId), texts }, false, controller.signal).catch((e: Error) => e);
  const deadline = Date.now() + 10_000;
  while (threads() <= baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(threads() > baseline, "the probe's worker started");
  controller.abort();
  const t1 = performance.now();
  assert.ok((await pending) instanceof Error);
  while (threads() > baseline && performance.now() - t1 < fullMs) await new Promise((r) => setTimeout(r, 10));
  const stopMs = performance.now() - t1;
  t.diagnostic(`hang-up: worker gone after ${stopMs.toFixed(0)} ms; full probe ${fullMs.toFixed(0)} ms`);
  assert.ok(threads() <= baseline && stopMs < fullMs / 2, `worker gone ${stopMs.toFixed(0)} ms after the hang-up; the full probe took ${fullMs.toFixed(0)} ms`);
});

test("explainNeurons (offline and with the configured LLM), explanations and searchNeurons link back to neuron pages", async () => {
  const FIELDS = "neuronId runId source rank featureId kind description words heldOutR heldOutAuc heldOutSamples missCount misses { sampleId predicted } equivalents dashboardPath";
  const unauthorized = await gql(`mutation { explainNeurons(runId: "${runId}", neuronIds: ["L0.N7"], metric: "colors") { rank } }`);
  assert.equal(unauthorized.errors?.[0]?.extensions.code, "UNAUTHENTICATED");

  type E = { neuronId: string; runId: string; source: string; rank: number; featureId: string; kind: string; description: string; words: string[]; heldOutR: number; heldOutAuc: number; heldOutSamples: number; dashboardPath: string; equivalents: string[] };
  const done = await gql<{ explainNeurons: E[] }>(`mutation ($r: ID!) { explainNeurons(runId: $r, neuronIds: ["L0.N7"], metric: "colors", top: 3, llm: true) { ${FIELDS} } }`, { r: String(runId) }, true);
  assert.equal(done.errors, undefined, JSON.stringify(done.errors));
  const list = done.data!.explainNeurons;
  assert.deepEqual(list.map((e) => [e.source, e.rank]), [["FEATURES", 1], ["FEATURES", 2], ["FEATURES", 3], ["LLM", 1]]);
  assert.ok(list[0]!.heldOutAuc > 0.95 && list[0]!.heldOutSamples === 60, JSON.stringify(list[0]));
  assert.equal(list[3]!.featureId, "llm:stand-in");
  assert.ok(list[3]!.heldOutR > 0.9, `simulation r ${list[3]!.heldOutR}`);
  assert.equal(list[0]!.dashboardPath, `#/runs/${runId}/neurons/L0.N7?metric=colors`);

  const stored = await gql<{ explanations: E[] }>(`query ($r: ID!) { explanations(runId: $r, neuronId: "L0.N7") { ${FIELDS} } }`, { r: String(runId) });
  assert.deepEqual(stored.data!.explanations.map((e) => e.featureId), list.map((e) => e.featureId));

  const search = async (args: string) => (await gql<{ searchNeurons: E[] }>(`{ searchNeurons(${args}) { ${FIELDS} } }`)).data!.searchNeurons;
  assert.deepEqual((await search(`word: "green"`)).map((e) => e.neuronId), ["L0.N7"]);
  assert.deepEqual((await search(`text: "COLOUR WORDS", kind: "llm"`)).map((e) => [e.runId, e.neuronId]), [[String(runId), "L0.N7"]]);
  assert.deepEqual(await search(`text: "digit"`), []);
  assert.equal((await search(`runId: "${runId}", bestOnly: false, first: 50`)).length, 4);
});
