/**
 * `npm run bench`: runs every benchmark, prints each figure as a ratio against a peer measured in the
 * same run, and writes the JSON report to bench/results/report.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import type { BenchResult } from "./result.js";
import { BENCHES } from "./registry.js";

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown cpu";
  return `${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}

function printResult(r: BenchResult): void {
  console.log(`\n## ${r.name}`);
  for (const f of r.figures) {
    const ours = `${f.ours.toPrecision(4)} ${f.unit}`;
    const peer = `${f.peer}: ${f.peerValue.toPrecision(4)} ${f.unit}`;
    console.log(`  ${f.label.padEnd(44)} ${ours.padEnd(22)} vs ${peer.padEnd(36)} ratio ${f.ratio.toFixed(2)}x`);
  }
  for (const n of r.notes ?? []) console.log(`  note: ${n}`);
}

const only = process.argv.slice(2);
const results: BenchResult[] = [];
console.log(`skillscope bench on ${machine()}`);
for (const [name, run] of Object.entries(BENCHES)) {
  if (only.length > 0 && !only.includes(name)) continue;
  process.stdout.write(`running ${name} ...\n`);
  const r = await run();
  printResult(r);
  results.push(r);
}
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/report.json", JSON.stringify({ machine: machine(), date: new Date().toISOString(), results }, null, 2));
console.log("\nreport: bench/results/report.json");
