/** The benchmarks `npm run bench` runs, by name (`npm run bench -- NAME` runs one). */
import { benchBroker } from "./broker.js";
import { benchCorrelation } from "./correlation.js";
import { benchEngine } from "./engine.js";
import { benchGraphql } from "./graphql.js";
import { benchIngest } from "./ingest.js";
import { benchLake } from "./lake.js";
import { benchLoad } from "./load.js";
import type { BenchResult } from "./result.js";
import { benchRun } from "./run.js";
import { benchScaleout } from "./scaleout.js";

export const BENCHES: Record<string, () => Promise<BenchResult>> = {
  ingest: benchIngest,
  correlation: benchCorrelation,
  engine: benchEngine,
  run: benchRun,
  load: benchLoad,
  graphql: benchGraphql,
  scaleout: benchScaleout,
  broker: benchBroker,
  lake: benchLake,
};
