/** The benchmarks `npm run bench` runs, by name (`npm run bench -- NAME` runs one). */
import { benchIngest } from "./ingest.js";
import type { BenchResult } from "./result.js";

export const BENCHES: Record<string, () => Promise<BenchResult>> = {
  ingest: benchIngest,
};
