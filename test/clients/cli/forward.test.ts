import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { registerForwardCommand, runForward } from "../../../clients/cli/commands/forward.js";
import { CliError } from "../../../clients/cli/errors.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const dir = `${root}test/fixtures/models/qwen2-tiny`;
const ref = JSON.parse(readFileSync(`${dir}/reference.json`, "utf8")).cases as Array<Record<string, any>>;
const tmp = mkdtempSync(join(tmpdir(), "skillscope-forward-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function close(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  const scale = Math.max(...expected.map(Math.abs));
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-4 * scale, `${what}[${i}]: ${v} vs ${expected[i]}`));
}

test("forward --ids with --soft-prompt, --insert-at, --grad-last matches the PyTorch reference", async () => {
  const c = ref.find((r) => r["name"] === "soft_k4")!;
  const promptFile = join(tmp, "p.json");
  writeFileSync(promptFile, JSON.stringify(c["softPrompt"]));
  const out = await runForward({ model: dir, ids: c["ids"], softPrompt: promptFile, insertAt: c["insertAt"], gradLast: c["gradLast"], threads: 1 });
  assert.deepEqual(out.ids, c["ids"]);
  assert.equal(out.logits.length, c["positions"]);
  close(out.logits.flat(), c["logits"].flat(), "logits");
  assert.equal(out.ffn.length, 2);
  close(out.ffn.flat(2), c["ffn"].flat(2), "ffn");
  close([out.loss!], [c["loss"]], "loss");
  close(out.promptGrad!.flat(), c["promptGrad"].flat(), "promptGrad");
});

test("forward --compute f16: half-precision products within half's budget of the reference; other precisions refused", async () => {
  const c = ref.find((r) => r["name"] === "soft_k4")!;
  const promptFile = join(tmp, "p16.json");
  writeFileSync(promptFile, JSON.stringify(c["softPrompt"]));
  const out = await runForward({ model: dir, ids: c["ids"], softPrompt: promptFile, insertAt: c["insertAt"], gradLast: c["gradLast"], threads: 1, compute: "f16" });
  // 2 layers: 6 * 2 + 1 products on the longest path, 3 half roundings (u = 2^-11) each (see half-compute.test.ts).
  const budget = 3 * 13 * 2 ** -11;
  const expected = c["logits"].flat() as number[];
  const scale = Math.max(...expected.map(Math.abs));
  const worst = Math.max(...out.logits.flat().map((v, i) => Math.abs(v - expected[i]!)));
  assert.ok(worst <= budget * scale && worst > 1e-5 * scale, `f16 logits: max error ${worst} (scale ${scale})`);
  const parser = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerForwardCommand(parser);
  await assert.rejects(parser.parseAsync(["node", "skillscope", "forward", "--model", dir, "--ids", "1", "--compute", "bf16"]), /--compute/);
});

test("forward --text tokenizes with tokenizer.json and equals --ids", async () => {
  const vocab = JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")).model.vocab;
  const byText = await runForward({ model: dir, text: "the cat sat" });
  assert.deepEqual(byText.ids, [vocab.the, vocab.cat, vocab.sat]);
  const byIds = await runForward({ model: dir, ids: byText.ids });
  assert.deepEqual(byText.logits, byIds.logits);
  assert.equal(byText.loss, undefined);
});

test("bad arguments: one-line error and exit code 1 through the registered command", async () => {
  await assert.rejects(runForward({ model: dir }), CliError);
  await assert.rejects(runForward({ model: dir, ids: [1, 2], insertAt: 1 }), /--insert-at needs --soft-prompt/);
  const parser = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerForwardCommand(parser);
  await assert.rejects(parser.parseAsync(["node", "skillscope", "forward", "--model", dir, "--ids", "1,x"]), /--ids.*expected comma-separated integers/);
  const program = new Command().exitOverride();
  registerForwardCommand(program);
  const errors: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => (errors.push(s), true)) as typeof process.stderr.write;
  try {
    await program.parseAsync(["node", "skillscope", "forward", "--model", join(tmp, "nope"), "--ids", "1"]);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(process.exitCode, 1);
  process.exitCode = 0;
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^skillscope forward: .*nope.*\n$/);
});
