import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { cli, ROOT } from "./run-cli.js";

/**
 * The issue's acceptance through the bin: `skillscope run` on the planted checkpoint (neuron L0.N7
 * counts colour words) with the colour count as the metric ranks the planted neuron first, |r| > 0.9,
 * while the other neurons' median |r| stays below 0.2.
 */
const planted = join(ROOT, "test/fixtures/planted");
const dir = mkdtempSync(join(tmpdir(), "skillscope-cli-planted-"));
after(() => rmSync(dir, { recursive: true, force: true }));

it("skillscope run finds the planted neuron", async () => {
  const conn = ["--data-dir", dir, "--db", join(dir, "planted.duckdb")];
  const run = await cli([
    "run", "--model", join(planted, "model"), "--task", join(planted, "task.jsonl"), "--template", "{text} question",
    "--verbalizer", '{"0":"no","1":"yes"}', "--metric", "colors", "--prompt-length", "4", "--steps", "6", "--seed", "1", "--json", ...conn,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { runId: string; top: { metric: string; layer: number; neuron: number; r: number }[] };
  const top = summary.top.filter((t) => t.metric === "colors")[0]!;
  assert.deepEqual([top.layer, top.neuron], [0, 7]);
  assert.ok(Math.abs(top.r) > 0.9, `planted r = ${top.r}`);

  const all = await cli(["neurons", "--run", summary.runId, "--metric", "colors", "--top", "64", "--json", ...conn]);
  assert.equal(all.code, 0, all.stderr);
  const rs = (JSON.parse(all.stdout) as { neurons: { id: string; r: number }[] }).neurons;
  assert.equal(rs[0]!.id, "L0.N7");
  const others = rs.slice(1).map((n) => Math.abs(n.r)).sort((a, b) => a - b);
  assert.ok(others[Math.floor(others.length / 2)]! < 0.2, `median |r| of the others ${others[Math.floor(others.length / 2)]}`);
});

it("skillscope run --runners 2 prints the summary of a one-runner run (scores within 1e-9)", async () => {
  const args = (db: string, extra: string[]) => [
    "run", "--model", join(planted, "model"), "--task", join(planted, "task.jsonl"), "--template", "{text} question",
    "--verbalizer", '{"0":"no","1":"yes"}', "--prompt-length", "4", "--steps", "6", "--seed", "1", "--top", "10", "--json",
    "--data-dir", dir, "--db", join(dir, db), ...extra,
  ];
  // the third writes its activations to an activation lake instead of the database
  const lake = join(dir, "lake");
  const [one, two, lakeRun] = await Promise.all([
    cli(args("one.duckdb", [])), cli(args("two.duckdb", ["--runners", "2"])), cli(args("lake.duckdb", ["--runners", "2", "--lake", lake])),
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  assert.equal(lakeRun.code, 0, lakeRun.stderr);
  assert.ok(existsSync(join(lake, "run=1", "layer=0", "shard=1", "part-0.parquet")), "the runners wrote the lake");
  type Summary = { runId: string; samples: number; valLoss: number; valAccuracy: number; top: { metric: string; layer: number; neuron: number; position: number; r: number }[] };
  const a = JSON.parse(one.stdout) as Summary;
  for (const b of [JSON.parse(two.stdout) as Summary, JSON.parse(lakeRun.stdout) as Summary]) {
    assert.equal(b.samples, a.samples);
    assert.ok(Math.abs(b.valLoss - a.valLoss) < 1e-9 && b.valAccuracy === a.valAccuracy);
    assert.equal(b.top.length, a.top.length);
    b.top.forEach((t, i) => {
      assert.deepEqual([t.metric, t.layer, t.neuron, t.position], [a.top[i]!.metric, a.top[i]!.layer, a.top[i]!.neuron, a.top[i]!.position]);
      assert.ok(Math.abs(t.r - a.top[i]!.r) < 1e-9, `${t.metric} L${t.layer}.N${t.neuron}: ${t.r} vs ${a.top[i]!.r}`);
    });
  }
  const noRunners = await cli(args("y.duckdb", ["--lake", lake]));
  assert.notEqual(noRunners.code, 0);
  assert.match(noRunners.stderr, /--lake applies with --runners/);
  const refused = await cli(args("x.duckdb", ["--runners", "2", "--server", "http://127.0.0.1:9"]));
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /--runners applies to embedded runs/);
});
