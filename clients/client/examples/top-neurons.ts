/**
 * Prints a run's top neurons for a metric.
 *   node dist/clients/client/examples/top-neurons.js RUN_ID METRIC [K]
 * Server: $SKILLSCOPE_URL (default http://127.0.0.1:4000).
 */
import { createClient, TopNeuronsDocument } from "../index.js";

const [runId, metric, k = "10"] = process.argv.slice(2);
if (!runId || !metric) {
  console.error("usage: top-neurons RUN_ID METRIC [K]");
  process.exit(1);
}
const client = createClient({ url: process.env.SKILLSCOPE_URL ?? "http://127.0.0.1:4000" });
try {
  const { neurons } = await client.query(TopNeuronsDocument, { runId, metric, first: Number(k), aggregate: "MAX_ABS_OVER_POSITIONS" });
  for (const { node } of neurons.edges) {
    console.log(`${String(node.rank).padStart(3)}  ${node.id.padEnd(10)}  r=${node.r.toFixed(4)}  position=${node.bestPosition}`);
  }
  console.log(`${neurons.edges.length} of ${neurons.totalCount} neurons`);
} finally {
  await client.close();
}
