import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import WebSocket from "ws";
import { decodeFrame, encodeFrame } from "../../gpu-runner/runner/codec.js";
import { startRunInWorker, type RunHandle } from "../../gpu-runner/runner/host.js";
import { connectRemoteRunner, type RemoteRunner } from "../../gpu-runner/runner/remote.js";
import { startServer } from "../../server/http/server.js";
import { RunManager } from "../../server/runs/run-manager.js";
import { Store } from "../../server/store/store.js";
import { DIE_AFTER } from "./dying-worker.js";
import { PLANTED, PLANTED_MODEL, batchCounts, gql, ok, registerPlanted, startRun, waitForStatus, writePlantedTask } from "./harness.js";
import { addPlantedTask } from "../fixtures/planted-run.js";

/** Faults of the runner side: a worker thread that dies mid-run, a remote runner that disconnects mid-run. */
let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), "skillscope-runner-faults-"));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A remote runner that runs its job in a real worker and drops the connection (TCP destroy, as a
 * crashed machine would) right after sending its `cutAfter`-th activation batch.
 */
async function flakyRunner(url: string, token: string, cutAfter: number): Promise<{ dropped: Promise<void> }> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  let job: RunHandle | undefined;
  let batches = 0;
  ws.on("message", (data: Buffer) => {
    const msg = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (msg.type !== "start") return;
    job = startRunInWorker(msg, (ev) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(encodeFrame(ev));
      if (ev.type === "activations" && ++batches === cutAfter) {
        ws.terminate();
        job!.cancel();
      }
    });
  });
  const dropped = new Promise<void>((resolve) => ws.once("close", () => void (job?.done ?? Promise.resolve()).catch(() => undefined).then(() => resolve())));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return { dropped };
}

async function scores(store: Store, runId: number): Promise<Map<string, number>> {
  const page = await store.queryScores(runId, { metric: "colors", agg: "max_abs_r", first: 1000 });
  return new Map(page.rows.map((s) => [`L${s.layer}.N${s.neuron}`, s.r]));
}

it("a worker thread that dies mid-training fails the run with a message; resume finishes it as an uninterrupted run would", async () => {
  const store = await Store.open(join(tmp, "worker.duckdb"));
  let attempts = 0;
  const dying = new URL("./dying-worker.js", import.meta.url);
  const manager = new RunManager(store, { executor: (s, sink) => startRunInWorker(s, sink, attempts++ === 0 ? { workerUrl: dying } : {}) });
  try {
    const modelId = await store.addModel({ path: PLANTED_MODEL, family: "gpt2", config: {} });
    const taskId = await addPlantedTask(store);
    const options = { promptLength: 4, steps: 20, batchSize: 8, evalEvery: 0, checkpointEvery: 5, seed: 4, threads: 1 };
    const run = await manager.start({ modelId, taskId, options });
    await manager.whenIdle();
    const failed = await store.getRun(run.id);
    assert.equal(failed.status, "failed");
    assert.match(failed.error ?? "", /^WORKER_EXITED: runner worker for run \d+ exited with code 3 before finishing/);
    assert.equal((await store.latestCheckpoint(run.id))?.step, DIE_AFTER - (DIE_AFTER % 5), "the last checkpoint before the death is kept");

    await manager.resume(run.id);
    await manager.whenIdle();
    const resumed = await store.getRun(run.id);
    assert.equal(resumed.status, "done", `resumed run ended ${resumed.status}: ${resumed.error}`);
    const fresh = await manager.start({ modelId, taskId, options });
    await manager.whenIdle();
    assert.equal((await store.getRun(fresh.id)).status, "done");
    const want = await scores(store, fresh.id);
    const got = await scores(store, run.id);
    assert.equal(got.size, 64);
    for (const [id, r] of want) assert.ok(Math.abs(got.get(id)! - r) <= 1e-6, `${id}: ${got.get(id)} resumed vs ${r} uninterrupted`);
  } finally {
    await manager.close();
    await store.close();
  }
});

it("a remote runner that disconnects mid-extraction fails the run resumably; a new runner completes it without duplicated batches", async () => {
  const dataDir = join(tmp, "remote");
  const taskDir = mkdtempSync(join(tmp, "task-"));
  const taskFile = writePlantedTask(taskDir, 4); // 600 val rows: 38 batches of 16
  const server = await startServer({ dataDir, port: 0, modelRoots: [PLANTED], taskRoots: [taskDir], dashboardDir: join(tmp, "none") });
  const runners: RemoteRunner[] = [];
  try {
    const token = readFileSync(join(dataDir, "token"), "utf8").trim();
    const ingest = `${server.url.replace("http", "ws")}/ingest`;
    const connect = async () => {
      const r = await connectRemoteRunner(ingest, { token, modelDir: PLANTED_MODEL, threads: 1 });
      runners.push(r);
      return r;
    };
    const ids = await registerPlanted(server.url, token, taskFile);
    const cut = await flakyRunner(ingest, token, 5);
    const runId = await startRun(server.url, token, ids, { promptLength: 4, steps: 10, batchSize: 8, evalEvery: 0, checkpointEvery: 5, seed: 3, threads: 1 });
    await cut.dropped;

    const failed = await waitForStatus(server.url, token, runId, ["FAILED"]);
    assert.equal(failed.status, "FAILED");
    assert.match(failed.error ?? "", /remote runner .* disconnected; resume the run/);

    await connect();
    ok(await gql(server.url, token, `mutation { resumeRun(id: "${runId}") { id } }`));
    const done = await waitForStatus(server.url, token, runId, ["DONE"], 120_000);
    assert.equal(done.status, "DONE", `resumed run ended ${done.status}: ${done.error}`);
    const top = ok(await gql<{ neurons: { edges: { node: { id: string } }[] } }>(server.url, token, `{ neurons(runId: "${runId}", metric: "colors", first: 1) { edges { node { id } } } }`));
    assert.equal(top.neurons.edges[0]!.node.id, "L0.N7");
  } finally {
    for (const r of runners) r.close();
    await server.close();
  }
  const counts = await batchCounts(join(dataDir, "skillscope.duckdb"), 1, 16, 4);
  assert.equal(counts.length, Math.ceil(600 / 16));
  for (const c of counts) assert.equal(c.rows, c.promised, `batch ${c.batch}: ${c.rows} rows vs ${c.promised} promised`);
  assert.equal(counts.reduce((s, c) => s + c.rows, 0), 600 * 4, "every val sample stored exactly once");
});
