import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
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
