import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Store } from "../../../server/store/store.js";
import { cli, ROOT, startServe } from "./run-cli.js";

describe("skillscope serve", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "skillscope-serve-"));
  const db = join(dataDir, "custom.duckdb");
  let server: Awaited<ReturnType<typeof startServe>>;

  before(async () => {
    server = await startServe(["--data-dir", dataDir, "--db", db, "--model-root", join(ROOT, "test/fixtures/models"), "--task-root", join(ROOT, "test/fixtures/cli")]);
  });
  after(() => {
    server.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers remote commands; mutations carry the token read from --data-dir", async () => {
    const runs = await cli(["runs", "--server", server.url, "--json"]);
    assert.equal(runs.code, 0, runs.stderr);
    assert.deepEqual(JSON.parse(runs.stdout), { totalCount: 0, runs: [] });

    const pairs = join(dataDir, "pairs.json");
    writeFileSync(pairs, '{"s1": 1}');
    const emptyDir = join(dataDir, "elsewhere");
    const anonymous = await cli(["metric", "add", "--server", server.url, "--data-dir", emptyDir, "--run", "7", "--name", "m", "--file", pairs], { env: { SKILLSCOPE_TOKEN: "" } });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /\[UNAUTHENTICATED\]/);
    // With the token the mutation gets past auth and fails on the missing run instead.
    const authed = await cli(["metric", "add", "--server", server.url, "--data-dir", dataDir, "--run", "7", "--name", "m", "--file", pairs]);
    assert.equal(authed.code, 1);
    assert.match(authed.stderr, /run 7/);
    assert.doesNotMatch(authed.stderr, /UNAUTHENTICATED/);
  });

  it("an embedded command on the server's database says to use --server", async () => {
    const r = await cli(["runs", "--db", db]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /in use by another process.*pass --server URL/);
  });

  it("runs a task remotely: run --server follows the run over graphql-ws to the end", async () => {
    const r = await cli([
      "run", "--server", server.url, "--data-dir", dataDir, "--model", join(ROOT, "test/fixtures/models/gpt2-tiny"), "--task", join(ROOT, "test/fixtures/cli/sentiment.jsonl"),
      "--template", "{text} answer", "--verbalizer", '{"0":"no","1":"yes"}', "--steps", "3", "--prompt-length", "2", "--metric", "label", "--top", "2", "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { runId: string; samples: number; top: { metric: string }[] };
    assert.equal(out.samples, 16);
    assert.deepEqual(out.top.map((t) => t.metric), ["label", "label"]);
    // Plain progress lines (stderr is not a TTY here) ending with the final status.
    assert.match(r.stderr, /training step \d+\/3 loss/);
    assert.match(r.stderr, /status done/);
    const runs = JSON.parse((await cli(["runs", "--server", server.url, "--json"])).stdout) as { runs: { id: string; status: string }[] };
    assert.deepEqual(runs.runs.map((x) => [x.id, x.status]), [[out.runId, "DONE"]]);
  });

  it("shuts down gracefully on SIGTERM: exit 0 and the database closed for the next process", async () => {
    server.child.kill("SIGTERM");
    assert.deepEqual(await server.exit, { code: 0, signal: null });
    const store = await Store.open(db);
    assert.deepEqual((await store.listRuns()).map((r) => r.status), ["done"]);
    await store.close();
  });
});
