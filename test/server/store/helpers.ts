import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../../server/store/index.js";

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = "skillscope-store-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic float32 test values that include negatives, zeros and tiny/huge magnitudes. */
export function pattern(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const u = x / 2 ** 32 - 0.5;
    out[i] = i % 97 === 0 ? -0 : i % 89 === 0 ? 1e-40 * (u + 1) : i % 83 === 0 ? 3e38 * u : u * 8;
  }
  return out;
}

/** A store with one model, task and run; returns the run id. */
export async function storeWithRun(path: string): Promise<{ store: Store; runId: number }> {
  const store = await Store.open(path);
  const modelId = await store.addModel({ path: "/models/tiny", family: "gpt2", config: { n_layer: 2 } });
  const taskId = await store.addTask({ name: "sst2", source: "/tasks/sst2.jsonl", template: "{text}", verbalizer: { 0: "neg", 1: "pos" } });
  const runId = await store.createRun({ modelId, taskId, config: { nSoft: 4 } });
  return { store, runId };
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
