import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer, type RunningServer } from "../../../server/http/server.js";

/** A run exported to Parquet and served again, read-only, by a server attached to the export. */
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const planted = join(root, "test/fixtures/planted");
const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function gql<T>(server: RunningServer, token: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: T; errors?: { message: string; extensions: { code: string } }[] }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as never;
}

const INSPECT = `query ($r: ID!) {
  run(id: $r) { status layers model { family } task { name } }
  neurons(runId: $r, metric: "colors", first: 5) { totalCount edges { node { id r bestPosition pAtPosition pCorrected } } }
  neuron(runId: $r, layer: 0, index: 7) { correlations(metric: "colors") { position r } extremalSamples(direction: HIGH, k: 5, metric: "colors") { sampleId text activation reading position } }
}`;

it("serves an exported run like the original, and refuses writes", async () => {
  const dir = await mkdtemp(join(tmpdir(), "skillscope-attach-"));
  dirs.push(dir);
  const server = await startServer({ dataDir: dir, port: 0, modelRoots: [planted], taskRoots: [planted], dashboardDir: join(dir, "none") });
  const token = (await readFile(join(dir, "token"), "utf8")).trim();
  let original: unknown;
  let runId: string;
  try {
    const model = (await gql<{ registerModel: { id: string } }>(server, token, `mutation ($p: String!) { registerModel(path: $p) { id } }`, { p: join(planted, "model") })).data!.registerModel;
    const task = (await gql<{ importTask: { id: string } }>(server, token, `mutation ($i: ImportTaskInput!) { importTask(input: $i) { id } }`, {
      i: { name: "colours", path: join(planted, "task.jsonl"), template: "{text} question", verbalizer: { "0": "no", "1": "yes" } },
    })).data!.importTask;
    runId = (await gql<{ startRun: { id: string } }>(server, token, `mutation ($m: ID!, $t: ID!) { startRun(modelId: $m, taskId: $t, options: { promptLength: 4, steps: 4, seed: 1 }) { id } }`, { m: model.id, t: task.id })).data!.startRun.id;
    for (let i = 0; i < 600; i++) {
      const status = (await gql<{ run: { status: string } }>(server, token, `query ($r: ID!) { run(id: $r) { status } }`, { r: runId })).data!.run.status;
      if (status === "DONE") break;
      assert.ok(!["FAILED", "CANCELLED"].includes(status), status);
      await new Promise((r) => setTimeout(r, 100));
    }
    original = (await gql(server, token, INSPECT, { r: runId })).data;
    const exported = await gql<{ exportRun: string }>(server, token, `mutation ($r: ID!) { exportRun(id: $r, name: "colours") }`, { r: runId });
    assert.equal(exported.errors, undefined, JSON.stringify(exported.errors));
  } finally {
    await server.close();
  }

  const served = await startServer({ dataDir: dir, port: 0, attach: join(dir, "exports", "colours"), dashboardDir: join(dir, "none") });
  try {
    const again = await gql(served, token, INSPECT, { r: runId! });
    assert.equal(again.errors, undefined, JSON.stringify(again.errors));
    assert.deepEqual(again.data, original);
    const write = await gql(served, token, `mutation { deleteRun(id: "${runId!}") }`);
    assert.ok(write.errors?.length, "writes are refused");
    assert.notEqual(write.errors![0]!.extensions.code, "INTERNAL_SERVER_ERROR", JSON.stringify(write.errors));
  } finally {
    await served.close();
  }
});
