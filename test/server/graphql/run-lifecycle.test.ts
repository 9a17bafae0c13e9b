import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { startServer, type RunningServer } from "../../../server/http/server.js";

/**
 * A whole run through the API on the planted fixture (one GPT-2 layer whose neuron 7 counts
 * colour words): register, import, start, follow over WebSocket until DONE, rank, delete.
 */
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const planted = join(root, "test/fixtures/planted");
const PLANTED = "L0.N7";

let dir: string;
let server: RunningServer;
let token: string;
let ws: Client;

type Answer<T> = { status: number; data?: T; errors?: { message: string; extensions: Record<string, unknown> & { code: string } }[] };

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<Answer<T>> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}

function ok<T>(res: Answer<T>): T {
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  return res.data!;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-lifecycle-"));
  server = await startServer({
    dataDir: dir,
    port: 0,
    modelRoots: [planted],
    taskRoots: [planted],
    dashboardDir: join(dir, "none"),
    runner: { leaderboardIntervalMs: 0 },
  });
  token = (await readFile(join(dir, "token"), "utf8")).trim();
  ws = createClient({ url: `${server.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
});

after(async () => {
  await ws?.dispose();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

it("runs the planted fixture end to end over the API", async () => {
  const model = ok(await gql<{ registerModel: { id: string } }>(`mutation ($p: String!) { registerModel(path: $p) { id } }`, { p: join(planted, "model") }));
  const task = ok(
    await gql<{ importTask: { id: string } }>(`mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`, {
      i: { name: "colours", path: join(planted, "task.jsonl"), template: "{text} question", verbalizer: { "0": "no", "1": "yes" } },
    }),
  ).importTask;

  const bad = await gql(`mutation ($m: ID!, $t: ID!) { startRun(modelId: $m, taskId: $t, options: { promptLength: 0 }) { id } }`, {
    m: model.registerModel.id,
    t: task.id,
  });
  assert.equal(bad.errors?.[0]?.extensions.code, "BAD_USER_INPUT");
  assert.equal(bad.errors?.[0]?.extensions.field, "options.promptLength");
  const missing = await gql(`mutation ($t: ID!) { startRun(modelId: "999", taskId: $t) { id } }`, { t: task.id });
  assert.equal(missing.errors?.[0]?.extensions.code, "NOT_FOUND");

  const started = ok(
    await gql<{ startRun: { id: string; status: string } }>(
      `mutation ($m: ID!, $t: ID!) { startRun(modelId: $m, taskId: $t, options: { promptLength: 4, steps: 6, batchSize: 8, evalEvery: 3, seed: 1, threads: 1 }) { id status } }`,
      { m: model.registerModel.id, t: task.id },
    ),
  ).startRun;
  assert.equal(started.status, "QUEUED");
  const runId = started.id;

  // Progress events arrive in order until the status subscription reports the end.
  const seqs: number[] = [];
  const progressEvents = ws.iterate<{ trainingProgress: { seq: number; phase: string } }>({
    query: `subscription { trainingProgress(runId: "${runId}") { seq phase } }`,
  });
  const progress = (async () => {
    for await (const r of progressEvents) seqs.push(r.data!.trainingProgress.seq);
  })();
  // Subscribed before extraction starts (the worker still has to load and train), so the live
  // leaderboards published during extraction arrive here.
  const boards: { neurons: { id: string }[]; samplesSeen: number | null }[] = [];
  const boardEvents = ws.iterate<{ neuronLeaderboard: { samplesSeen: number | null; neurons: { id: string }[] } }>({
    query: `subscription { neuronLeaderboard(runId: "${runId}", metric: "colors", k: 3) { samplesSeen neurons { id } } }`,
  });
  const boardLoop = (async () => {
    for await (const r of boardEvents) boards.push(r.data!.neuronLeaderboard);
  })();
  const statuses: string[] = [];
  for await (const r of ws.iterate<{ runStatus: { status: string; error: string | null } }>({
    query: `subscription { runStatus(runId: "${runId}") { status error } }`,
  })) {
    statuses.push(r.data!.runStatus.status);
    if (["DONE", "FAILED", "CANCELLED", "INTERRUPTED"].includes(r.data!.runStatus.status)) {
      assert.equal(r.data!.runStatus.status, "DONE", `run ended: ${r.data!.runStatus.error}`);
      break;
    }
  }
  await progressEvents.return?.();
  await progress;
  await boardEvents.return?.();
  await boardLoop;
  assert.ok(boards.length > 0, "live leaderboards arrived");
  assert.equal(boards[boards.length - 1]!.neurons[0]!.id, PLANTED, "the last live leaderboard (all samples) ranks the planted neuron first");
  const seen = boards.map((b) => b.samplesSeen!);
  assert.ok(seen.every((n) => n > 0), `live leaderboards say how many samples they rest on: ${seen}`);
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b), "and that count only grows");
  assert.ok(statuses.includes("TRAINING") && statuses.includes("EXTRACTING"), statuses.join(" "));
  assert.ok(seqs.length > 0);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(new Set(seqs).size, seqs.length, "no event twice");

  const ranked = ok(
    await gql<{ neurons: { edges: { node: { id: string; r: number; pCorrected: number | null } }[] } }>(
      `{ neurons(runId: "${runId}", metric: "colors", first: 3) { edges { node { id r pCorrected } } } }`,
    ),
  );
  assert.equal(ranked.neurons.edges[0]!.node.id, PLANTED);
  assert.ok(Math.abs(ranked.neurons.edges[0]!.node.r) > 0.9);

  const board = await ws.iterate<{ neuronLeaderboard: { neurons: { id: string }[] } }>({
    query: `subscription { neuronLeaderboard(runId: "${runId}", metric: "colors", k: 3) { neurons { id } } }`,
  }).next();
  assert.equal(board.value!.data!.neuronLeaderboard.neurons[0]!.id, PLANTED);

  // the planted neuron stands above the permutation null; the null's chance level matches theory
  type Sig = { significance: { samples: number; tests: number; pooledAbsR999: number; maxAbsR999: number; analyticAbsR999: number; bhAbsRThreshold: number | null; discoveries: number; layers: { observed: number[]; expectedNull: number[] }[] } };
  const sig = ok(await gql<Sig>(`{ significance(runId: "${runId}", metric: "colors", permutations: 50, seed: 3, bins: 20) {
    samples tests pooledAbsR999 maxAbsR999 analyticAbsR999 bhAbsRThreshold discoveries layers { observed expectedNull } } }`)).significance;
  assert.ok(Math.abs(ranked.neurons.edges[0]!.node.r) > sig.maxAbsR999, `planted r above the null max: ${sig.maxAbsR999}`);
  assert.ok(Math.abs(sig.pooledAbsR999 / sig.analyticAbsR999 - 1) < 0.25, `pooled null ${sig.pooledAbsR999} vs analytic ${sig.analyticAbsR999}`);
  assert.ok(sig.discoveries >= 4 && sig.bhAbsRThreshold !== null, "at least the planted neuron's positions are discoveries");
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  assert.equal(sum(sig.layers[0]!.observed), sig.tests);
  assert.ok(Math.abs(sum(sig.layers[0]!.expectedNull) - sig.tests) < 1e-6 * sig.tests);

  const cancelDone = await gql(`mutation { cancelRun(id: "${runId}") { id } }`);
  assert.equal(cancelDone.errors?.[0]?.extensions.code, "CONFLICT");
  const resumeDone = await gql(`mutation { resumeRun(id: "${runId}") { id } }`);
  assert.equal(resumeDone.errors?.[0]?.extensions.code, "CONFLICT");
  assert.equal(ok(await gql<{ deleteRun: string }>(`mutation { deleteRun(id: "${runId}") }`)).deleteRun, runId);
});
