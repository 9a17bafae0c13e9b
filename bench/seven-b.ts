/**
 * A child process of the scaleout bench, so that each side's memory is its own:
 *   node seven-b.js shard FILE SAMPLES   a runner: builds a 7B-shaped shard partial, writes its encoded `done` to FILE
 *   node seven-b.js server FILE SHARDS   the server: receives FILE's partial SHARDS times, decoding and merging each
 * Prints one JSON line; `server` adds its peak RSS (VmHWM) in bytes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mergeSevenB, sevenBPartial } from "./scaleout.js";

const [mode, file, n] = process.argv.slice(2);
if (mode === "shard") {
  const { frame, streamSeconds } = sevenBPartial(Number(n));
  writeFileSync(file!, frame);
  process.stdout.write(JSON.stringify({ streamSeconds, frameBytes: frame.byteLength }));
} else if (mode === "server") {
  const merged = mergeSevenB(file!, Number(n));
  const peakRss = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
  process.stdout.write(JSON.stringify({ ...merged, peakRss }));
} else {
  throw new Error(`usage: seven-b.js shard|server FILE N (got ${mode})`);
}
