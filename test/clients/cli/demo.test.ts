import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CLI, cli, ROOT } from "./run-cli.js";

/** A demo folder: the gpt2-tiny fixture as model/, and a few train and val rows of each demo task. */
function smallDemoDir(dir: string): string {
  const demo = join(dir, "demo");
  mkdirSync(join(demo, "tasks"), { recursive: true });
  cpSync(join(ROOT, "test/fixtures/models/gpt2-tiny"), join(demo, "model"), { recursive: true });
  cpSync(join(ROOT, "demo/tasks/templates.json"), join(demo, "tasks/templates.json"));
  for (const task of ["sentiment", "nli-hans", "arith"]) {
    const rows = readFileSync(join(ROOT, "demo/tasks", `${task}.jsonl`), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { split: string });
    const pick = [...rows.filter((r) => r.split === "train").slice(0, 4), ...rows.filter((r) => r.split === "val").slice(0, 4)];
    writeFileSync(join(demo, "tasks", `${task}.jsonl`), pick.map((r) => JSON.stringify(r)).join("\n") + "\n");
  }
  return demo;
}

describe("skillscope demo", () => {
  const dir = mkdtempSync(join(tmpdir(), "skillscope-demo-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("without a demo model says how to build it (one line, exit 1)", async () => {
    const r = await cli(["demo", "--demo-dir", join(dir, "empty"), "--port", "0", "--data-dir", join(dir, "data0")]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /npm run pretrain/);
  });

  it("serves with the three experiments queued, and shuts down on SIGTERM", async () => {
    const demoDir = smallDemoDir(dir);
    const child = spawn(process.execPath, [CLI, "demo", "--demo-dir", demoDir, "--port", "0", "--data-dir", join(dir, "data"), "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += String(d)));
    const first = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += String(d);
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      void exit.then((code) => reject(new Error(`demo exited ${code}: ${stderr}`)));
    });
    try {
      const info = JSON.parse(first) as { url: string; runs: Record<string, string> };
      assert.deepEqual(Object.keys(info.runs).sort(), ["arith", "nli-hans", "sentiment"]);
      const listed = JSON.parse((await cli(["runs", "--server", info.url, "--json"])).stdout) as { runs: { id: string; task: { name: string } }[] };
      assert.deepEqual(listed.runs.map((r) => r.task.name).sort(), ["demo-arith", "demo-nli-hans", "demo-sentiment"]);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exit, 0, stderr);
  });
});
