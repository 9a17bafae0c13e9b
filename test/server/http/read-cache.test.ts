import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  execute, getOperationAST, isEnumType, isInputObjectType, isListType, isNonNullType, print, typeFromAST,
  type DocumentNode, type GraphQLInputType, type GraphQLSchema, type OperationDefinitionNode,
} from "graphql";
import * as documents from "../../../clients/client/documents.js";
import { buildApi } from "../../../server/graphql/api.js";
import { CompiledExecutor } from "../../../server/graphql/compiled-execution.js";
import { createContext } from "../../../server/graphql/context.js";
import { DEFAULT_LIMITS } from "../../../server/graphql/limits.js";
import { RunReadCache } from "../../../server/graphql/run-cache.js";
import { startServer, type RunningServer } from "../../../server/http/server.js";
import { immutableRunOf } from "../../../server/http/response-cache.js";
import { RunManager } from "../../../server/runs/run-manager.js";
import { scoreBatches, scoreFromStoredActivations } from "../../../server/runs/scoring.js";
import { Store } from "../../../server/store/store.js";

/**
 * Finished runs' reads are kept (RunReadCache, whole answers in the HTTP server) and must be
 * exactly what graphql-js computes from the store, until addMetric or deleteRun changes the run.
 * A real DuckDB file with a small done run: N samples, P positions, F neurons in layers 0 and 1.
 */
const N = 24;
const P = 3;
const F = 4;
const LAYERS = [0, 1];

let dir: string;
let dbPath: string;
let runId: number;

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

/** Seeds a done run the way the pipeline leaves one: samples, outputs, activations, a metric and its scores. */
async function seed(path: string): Promise<number> {
  const rand = mulberry32(11);
  const sampleIds = Array.from({ length: N }, (_, i) => `s${i}`);
  const label = Float64Array.from({ length: N }, () => (rand() < 0.5 ? 0 : 1));
  const store = await Store.open(path);
  try {
    const modelId = await store.addModel({ path: "/models/tiny", family: "gpt2", config: { n_layer: 2 } });
    const taskId = await store.addTask(
      { name: "tiny", source: "<inline>", template: "Review: {text}", verbalizer: { "0": "negative", "1": "positive" } },
      sampleIds.map((id, i) => ({ sampleId: id, split: "val", fields: { text: `text ${i}` }, rendered: `Review: text ${i}`, answer: label[i] ? "positive" : "negative", label: String(label[i]) })),
    );
    const id = await store.createRun({ modelId, taskId, config: { softTokens: P } });
    await store.setRunStatus(id, "extracting");
    await store.updateRun(id, { layers: LAYERS, neuronDefinition: "act(c_fc(x))" });
    const sampleIdx = Int32Array.from({ length: N }, (_, i) => i);
    await store.writeSampleOutputs(id, {
      sampleIdx,
      sampleId: sampleIds,
      loss: Float64Array.from({ length: N }, (_, i) => 0.1 * i),
      goldProb: new Float64Array(N).fill(0.5),
      confidence: new Float64Array(N).fill(0.6),
      prediction: sampleIds.map((_, i) => (i % 3 === 0 ? "positive" : "negative")),
      correct: Uint8Array.from({ length: N }, (_, i) => i % 2),
    });
    for (const layer of LAYERS) {
      const data = Float32Array.from({ length: N * P * F }, () => rand() * 2 - 1);
      for (let s = 0; s < N; s++) data[s * P * F + F + 2] = label[s]! * 2 + (rand() - 0.5) * 0.5;
      await store.ingestActivations(id, { shard: 0, batchId: `b${layer}`, layer, sampleIdx, nPositions: P, dFF: F, data });
    }
    await store.writeMetric(id, { name: "label", kind: "builtin", sampleId: sampleIds, value: label });
    const layers = await scoreFromStoredActivations(store, id, "label", label, LAYERS);
    await store.writeScores(id, layers.flatMap((c) => scoreBatches("label", c)));
    await store.setRunStatus(id, "done");
    return id;
  } finally {
    await store.close();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-read-cache-"));
  await mkdir(join(dir, "data"), { recursive: true });
  dbPath = join(dir, "data", "db.duckdb");
  runId = await seed(dbPath);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Variables whose name says what they are: this run, its metric, a neuron it has (L1.N2 is planted). */
function byName(name: string): unknown {
  const id = String(runId);
  const known: Record<string, unknown> = {
    id, runId: id, runIds: [id, id], metric: "label", metrics: ["label"], heuristic: "label", predicts: 1,
    layer: 1, index: 2, neuronIds: ["L1.N2"], text: "colour", texts: ["a colour"],
  };
  return known[name];
}

/** A value of a GraphQL input type: null where allowed, else small numbers, an enum's first value, required fields only. */
function valueOf(type: GraphQLInputType, nullable: boolean): unknown {
  if (isNonNullType(type)) return valueOf(type.ofType, false);
  if (nullable) return null;
  if (isListType(type)) return [valueOf(type.ofType, true)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined).map((f) => [f.name, valueOf(f.type, false)]));
  }
  const scalar: Record<string, unknown> = { Int: 3, Float: 0.5, Boolean: true, String: "label", ID: String(runId) };
  return scalar[type.name] ?? null;
}

/**
 * Variables for any committed operation, derived from its variable definitions (a new document
 * needs nothing here): known names get this run's values, required ones a value of their type.
 */
function variablesFor(operation: OperationDefinitionNode, schema: GraphQLSchema): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  for (const v of operation.variableDefinitions ?? []) {
    const name = v.variable.name.value;
    const value = byName(name) ?? valueOf(typeFromAST(schema, v.type) as GraphQLInputType, true);
    // an optional variable is left out, as clients do, so that the argument's default applies
    if (value !== null) variables[name] = value;
  }
  return variables;
}

const committed = Object.entries(documents as Record<string, unknown>)
  .filter((entry): entry is [string, DocumentNode] => (entry[1] as DocumentNode)?.kind === "Document")
  .flatMap(([name, document]) => {
    const operation = getOperationAST(document);
    return operation ? [{ name, document, operation }] : []; // fragments alone are not operations
  });

/** What a client can compare: data, and each error's message and path. */
function comparable(result: { data?: unknown; errors?: readonly { message: string; path?: readonly (string | number)[] }[] }): unknown {
  return JSON.parse(JSON.stringify({ data: result.data ?? null, errors: result.errors?.map((e) => ({ message: e.message, path: e.path ?? null })) ?? [] }));
}

describe("kept answers equal graphql-js", () => {
  it("answers every committed query document, cold and kept, exactly as graphql-js execute does; never keeps mutations or subscriptions", async () => {
    const queries = committed.filter((d) => d.operation.operation === "query");
    assert.ok(queries.length >= 10, `found ${queries.length} committed queries`);
    for (const d of committed.filter((x) => x.operation.operation !== "query")) {
      assert.equal(immutableRunOf(d.document, null, { runId: String(runId), id: String(runId) }), null, `${d.name} must never be kept`);
    }

    // graphql-js over a fresh API (nothing kept yet), before the server opens the file
    const expected = new Map<string, unknown>();
    const variables = new Map<string, Record<string, unknown>>();
    let answered = 0;
    {
      const store = await Store.open(dbPath);
      const runs = new RunManager(store);
      const { version } = JSON.parse(await readFile(new URL("../../../../package.json", import.meta.url), "utf8")) as { version: string };
      const api = await buildApi(store, runs, { limits: DEFAULT_LIMITS, exportRoot: join(dir, "exports"), version });
      try {
        for (const d of queries) {
          const contextValue = createContext(api.services, { canRead: true, canWrite: false });
          variables.set(d.name, variablesFor(d.operation, api.schema));
          const result = await execute({ schema: api.schema, document: d.document, variableValues: variables.get(d.name), contextValue });
          expected.set(d.name, comparable(result));
          if (!result.errors?.length) answered++;
        }
        // graphql-jit: a document's second run is compiled, and answers what graphql-js answered, errors' extensions included
        const executor = new CompiledExecutor(api.schema);
        for (const d of queries) {
          const run = () => executor.execute({ document: d.document, variables: variables.get(d.name), contextValue: createContext(api.services, { canRead: true, canWrite: false }) });
          const first = await run();
          assert.equal(executor.compiles(d.document), false, `${d.name}: a document's first run is not compiled`);
          const compiled = await run();
          assert.ok(executor.compiles(d.document), `${d.name} was not compiled`);
          assert.deepEqual(comparable(compiled), expected.get(d.name), `${d.name} (compiled)`);
          assert.deepEqual(JSON.parse(JSON.stringify(compiled)), JSON.parse(JSON.stringify(first)), `${d.name}: compiled vs graphql-js, in full`);
        }
      } finally {
        await runs.close();
        api.unbridge();
        await store.close();
      }
    }
    // the comparison must be over real answers, not over refusals alone
    assert.ok(answered >= queries.length / 2, `only ${answered} of ${queries.length} committed queries answered without errors`);

    const server = await startServer({ dataDir: join(dir, "data"), dbPath, port: 0, dashboardDir: join(dir, "none") });
    try {
      let kept = 0;
      for (const d of queries) {
        const query = print(d.document);
        const body = JSON.stringify({ query, variables: variables.get(d.name) });
        // the same document in another body misses the kept answer: Apollo's parsed document again, so it runs compiled
        const reordered = JSON.stringify({ variables: variables.get(d.name), query });
        const answers: object[] = [];
        for (const [pass, text] of [["graphql-js", body], ["kept", body], ["compiled", reordered]] as const) {
          const res = await fetch(`${server.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
          answers.push((await res.json()) as object);
          assert.deepEqual(comparable(answers.at(-1)!), expected.get(d.name), `${d.name} (${pass})`);
        }
        assert.deepEqual(answers[2], answers[0], `${d.name}: the compiled answer is the graphql-js answer, errors' extensions included`);
        if (immutableRunOf(d.document, null, variables.get(d.name)!) !== null) kept++;
      }
      assert.ok(kept >= 3, `${kept} committed queries read only a finished run`);
    } finally {
      await server.close();
    }
  });
});

describe("invalidation", () => {
  it("keeps a done run's reads until a write through the cached store view changes the run", async () => {
    const store = await Store.open(dbPath);
    try {
      let rawReads = 0;
      const counting = new Proxy(store, {
        get(target, property) {
          const value = Reflect.get(target, property, target) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (property === "readMetricAligned") rawReads++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const reads = new RunReadCache(counting);
      const first = await reads.store.readMetricAligned(runId, "label");
      assert.equal(await reads.store.readMetricAligned(runId, "label"), first, "the second read is the kept value");
      assert.equal(rawReads, 1);
      assert.ok(Object.isFrozen(first.sampleId), "kept values are frozen: every request shares them");
      await reads.store.updateRun(runId, { neuronDefinition: "act(c_fc(x))" });
      await reads.store.readMetricAligned(runId, "label");
      assert.equal(rawReads, 2, "a write to the run invalidates what was kept");
    } finally {
      await store.close();
    }
  });

  it("keeps done runs' records and metric lists at start, until a write changes the run", async () => {
    const store = await Store.open(dbPath);
    try {
      const rawCalls: string[] = [];
      const counting = new Proxy(store, {
        get(target, property) {
          const value = Reflect.get(target, property, target) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            rawCalls.push(String(property));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const reads = new RunReadCache(counting);
      await reads.keepDoneRuns();
      assert.deepEqual(rawCalls, ["listRuns", "listMetrics"], "one list of runs, one metric list for the done run");
      assert.equal((await reads.store.getRun(runId)).status, "done");
      assert.deepEqual((await reads.store.listMetrics(runId)).map((m) => m.name), ["label"]);
      assert.deepEqual(rawCalls, ["listRuns", "listMetrics"], "then answered from what was kept");
      await reads.store.updateRun(runId, { neuronDefinition: "act(c_fc(x))" });
      await reads.store.listMetrics(runId);
      assert.equal(rawCalls.filter((c) => c === "listMetrics").length, 2, "a write to the run invalidates what was kept");
    } finally {
      await store.close();
    }
  });

  it("answers a GET with an ETag until addMetric, then with the new metric; after deleteRun the run is gone, not kept", async () => {
    const server: RunningServer = await startServer({ dataDir: join(dir, "data"), dbPath, port: 0, dashboardDir: join(dir, "none") });
    const token = (await readFile(join(dir, "data", "token"), "utf8")).trim();
    const query = `query ($r: ID!) { neuron(runId: $r, layer: 1, index: 2) { id extremalSamples(k: 3, maxOverPositions: true) { sampleId metrics { name value } } } }`;
    const url = `${server.url}/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify({ r: String(runId) }))}`;
    const get = (headers: Record<string, string> = {}) => fetch(url, { headers: { "apollo-require-preflight": "true", ...headers } });
    const post = async (q: string, variables: Record<string, unknown>) => {
      const res = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: q, variables }),
      });
      return (await res.json()) as { data?: unknown; errors?: { message: string; extensions: { code: string } }[] };
    };
    type Samples = { data: { neuron: { extremalSamples: { sampleId: string; metrics: { name: string; value: number | null }[] }[] } } };
    try {
      const cold = await get();
      assert.equal(cold.status, 200);
      const etag = cold.headers.get("etag");
      assert.ok(etag, "a finished run's answer carries an ETag");
      assert.match(cold.headers.get("cache-control") ?? "", /no-cache/);
      const before = (await cold.json()) as Samples;
      assert.deepEqual(before.data.neuron.extremalSamples[0]!.metrics.map((m) => m.name), ["label"]);
      const again = await get({ "if-none-match": etag });
      assert.equal(again.status, 304, "an unchanged answer is not sent again");

      const sampleIds = before.data.neuron.extremalSamples.map((s) => s.sampleId);
      const values = Array.from({ length: N }, (_, i) => ({ sampleId: `s${i}`, value: (i * 7) % 5 }));
      const added = await post(`mutation ($r: ID!, $v: [SampleValueInput!]!) { addMetric(runId: $r, name: "mod5", values: $v) { name } }`, { r: String(runId), v: values });
      assert.equal(added.errors, undefined, JSON.stringify(added.errors));

      const changed = await get({ "if-none-match": etag });
      assert.equal(changed.status, 200, "addMetric invalidated the kept answer");
      assert.notEqual(changed.headers.get("etag"), etag);
      const after = (await changed.json()) as Samples;
      for (const [i, s] of after.data.neuron.extremalSamples.entries()) {
        assert.equal(s.sampleId, sampleIds[i]);
        const index = Number(s.sampleId.slice(1));
        assert.deepEqual(s.metrics.find((m) => m.name === "mod5"), { name: "mod5", value: (index * 7) % 5 });
      }
      const ranked = await post(`query ($r: ID!) { neurons(runId: $r, metric: "mod5", first: 2) { totalCount } }`, { r: String(runId) });
      assert.deepEqual(ranked.data, { neurons: { totalCount: LAYERS.length * F } });

      const deleted = await post(`mutation ($r: ID!) { deleteRun(id: $r) }`, { r: String(runId) });
      assert.equal(deleted.errors, undefined, JSON.stringify(deleted.errors));
      const gone = (await (await get()).json()) as { errors?: { extensions: { code: string } }[] };
      assert.equal(gone.errors?.[0]?.extensions.code, "NOT_FOUND", "deleteRun invalidated the kept answer");
      const page = await post(`query ($r: ID!) { neurons(runId: $r, metric: "label", first: 2) { totalCount } }`, { r: String(runId) });
      assert.equal(page.errors?.[0]?.extensions.code, "NOT_FOUND", "and the kept scores page");
    } finally {
      await server.close();
    }
  });
});
