import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../../../clients/cli/program.js";
import { cli } from "./run-cli.js";

/** Every runnable command path, e.g. ["neurons"], ["metric", "add"]. */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => (c.commands.length > 0 ? commandPaths(c, [...prefix, c.name()]) : [[...prefix, c.name()]]));
}

describe("skillscope --help", () => {
  const paths = commandPaths(buildProgram());

  it("covers the commands of the brief", () => {
    const names = paths.map((p) => p.join(" "));
    for (const name of ["serve", "demo", "run", "runner", "forward", "neurons", "neuron", "samples", "metric add", "export", "models", "tasks", "runs"]) {
      assert.ok(names.includes(name), `missing command ${name} (have ${names.join(", ")})`);
    }
  });

  it("shows usage and an example for every command", async () => {
    for (const path of paths) {
      let out = "";
      const program = buildProgram();
      // In-process: help must throw (not exit) and write into `out`, on every (sub)command.
      const quiet = (c: Command): void => {
        c.exitOverride().configureOutput({ writeOut: (text) => (out += text) });
        c.commands.forEach(quiet);
      };
      quiet(program);
      await assert.rejects(program.parseAsync(["node", "skillscope", ...path, "--help"]), (e: unknown) => (e as { code?: string }).code === "commander.helpDisplayed");
      const name = path.join(" ");
      assert.match(out, new RegExp(`Usage: skillscope ${name} `), name);
      assert.match(out, /Examples?:\n {2}\$ skillscope /, `${name} --help has no example`);
    }
  });

  it("exits 0 from the built bin", async () => {
    const r = await cli(["neurons", "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Example/);
  });
});

describe("bad arguments", { concurrency: true }, () => {
  const cases: [string, string[], RegExp][] = [
    ["a non-integer --top", ["neurons", "--run", "1", "--metric", "label", "--top", "x"], /--top/],
    ["a missing required option", ["neurons", "--metric", "label"], /--run/],
    ["a malformed neuron id", ["neuron", "--run", "1", "--id", "3.17", "--db", "/nonexistent-dir/x.duckdb"], /L\{layer\}\.N\{index\}/],
    ["an unknown direction", ["samples", "--run", "1", "--id", "L0.N1", "--direction", "up"], /high, low/],
    ["an unknown command", ["neurns"], /unknown command/],
    ["a pairs file that does not exist", ["metric", "add", "--run", "1", "--name", "m", "--file", "/nonexistent/pairs.csv"], /pairs\.csv/],
    ["an unreachable server", ["neurons", "--run", "1", "--metric", "label", "--server", "http://127.0.0.1:9"], /cannot reach http:\/\/127\.0\.0\.1:9/],
    ["a --connect that is not ws://", ["runner", "--connect", "http://x", "--token", "t"], /ws:\/\//],
  ];
  for (const [what, args, message] of cases) {
    it(`exits 1 with one line on stderr for ${what}`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
      assert.match(lines[0]!, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace without --verbose");
    });
  }

  it("prints the stack with --verbose", async () => {
    const r = await cli(["--verbose", "neurons", "--run", "1", "--metric", "label", "--server", "http://127.0.0.1:9"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\n\s+at /);
  });
});
