import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { connectRemoteRunner } from "../../../gpu-runner/runner/remote.js";
import { startServer, type RunningServer } from "../../../server/http/server.js";

/** A remote runner connected at /ingest takes a run started over GraphQL and streams it back. */
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const planted = join(root, "test/fixtures/planted");

let dir: string;
let server: RunningServer;
let token: string;

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-ingest-"));
  server = await startServer({ dataDir: dir, port: 0, modelRoots: [planted], taskRoots: [planted], dashboardDir: join(dir, "none") });
  token = (await readFile(join(dir, "token"), "utf8")).trim();
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

it("refuses runners without the token", async () => {
  const url = `${server.url.replace("http", "ws")}/ingest`;
  await assert.rejects(connectRemoteRunner(url), /401/);
  await assert.rejects(connectRemoteRunner(url, { token: "wrong" }), /401/);
});

it("runs a queued run on a connected remote runner, with the runner's own model folder", async () => {
  const runner = await connectRemoteRunner(`${server.url.replace("http", "ws")}/ingest`, { token, modelDir: join(planted, "model"), threads: 1 });
  // the server registers the same checkpoint under its own path; the runner loads its copy
  const { registerModel } = await gql<{ registerModel: { id: string } }>(`mutation ($p: String!) { registerModel(path: $p) { id } }`, { p: join(planted, "model") });
  const { importTask } = await gql<{ importTask: { id: string } }>(`mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`, {
    i: { name: "colours", path: join(planted, "task.jsonl"), template: "{text} question", verbalizer: { "0": "no", "1": "yes" } },
  });
  const { startRun } = await gql<{ startRun: { id: string } }>(
    `mutation ($m: ID!, $t: ID!) { startRun(modelId: $m, taskId: $t, options: { promptLength: 4, steps: 4, batchSize: 8, evalEvery: 0, seed: 1 }) { id } }`,
    { m: registerModel.id, t: importTask.id },
  );
  let status = "";
  for (let i = 0; i < 600 && !["DONE", "FAILED", "CANCELLED"].includes(status); i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await gql<{ run: { status: string } }>(`query ($id: ID!) { run(id: $id) { status } }`, { id: startRun.id })).run.status;
  }
  assert.equal(status, "DONE");
  const { neurons } = await gql<{ neurons: { edges: { node: { id: string } }[] } }>(
    `query ($r: ID!) { neurons(runId: $r, metric: "colors", first: 1) { edges { node { id } } } }`, { r: startRun.id },
  );
  assert.equal(neurons.edges[0].node.id, "L0.N7");
  runner.close();
  await runner.closed;
});
