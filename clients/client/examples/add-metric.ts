/**
 * Adds a metric to a finished run from a JSON file of {sampleId: value} and prints the neurons
 * that track it best. Mutations need the server's token.
 *   SKILLSCOPE_TOKEN=$(cat data/token) node dist/clients/client/examples/add-metric.js RUN_ID NAME values.json
 * Server: $SKILLSCOPE_URL (default http://127.0.0.1:4000).
 */
import { readFileSync } from "node:fs";
import { AddMetricDocument, createClient, TopNeuronsDocument } from "../index.js";

const [runId, name, file] = process.argv.slice(2);
if (!runId || !name || !file) {
  console.error("usage: add-metric RUN_ID NAME values.json   (values.json: {\"sampleId\": number, ...})");
  process.exit(1);
}
const values = Object.entries(JSON.parse(readFileSync(file, "utf8")) as Record<string, number>).map(([sampleId, value]) => ({ sampleId, value }));
const client = createClient({ url: process.env.SKILLSCOPE_URL ?? "http://127.0.0.1:4000", token: process.env.SKILLSCOPE_TOKEN });
try {
  const { addMetric } = await client.mutate(AddMetricDocument, { runId, name, values });
  console.log(`added ${addMetric.kind.toLowerCase()} metric ${addMetric.name} (${values.length} samples)`);
  const { neurons } = await client.query(TopNeuronsDocument, { runId, metric: name, first: 10, aggregate: "MAX_ABS_OVER_POSITIONS" });
  for (const { node } of neurons.edges) console.log(`${node.id.padEnd(10)} r=${node.r.toFixed(4)} position=${node.bestPosition}`);
} finally {
  await client.close();
}
