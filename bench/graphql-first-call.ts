/**
 * A child process of the graphql bench: the first `neurons` page of a fresh process, each side in
 * its own process (so neither runs code the other compiled):
 *   node graphql-first-call.js server DIR RUN QUERY   starts the server on DIR/skillscope.duckdb, then times its first answer
 *   node graphql-first-call.js store FILE RUN QUERY   opens the store on FILE, then times its first queryScores
 * QUERY is a ScoreQuery as JSON. Prints one JSON line: { ms, page } (page: the GraphQL answer or the ScorePage).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ScoreQuery } from "../server/store/scores.js";
import type { NeuronsPage } from "./neurons-query.js";

const [mode, path, run, queryJson] = process.argv.slice(2);
const runId = Number(run);
const query = JSON.parse(queryJson ?? "null") as ScoreQuery;
let answer: { ms: number; page: unknown };
// Each side loads only its own modules.
if (mode === "server") {
  await import("reflect-metadata");
  const { DB_FILE, startServer } = await import("../server/http/server.js");
  const { gql, keepAliveAgent } = await import("./graphql-client.js");
  const { NEURONS_QUERY, neuronsVariables } = await import("./neurons-query.js");
  const server = await startServer({ dataDir: path!, dbPath: join(path!, DB_FILE), port: 0, dashboardDir: join(path!, "none") });
  const agent = keepAliveAgent();
  try {
    const api = { url: server.url, token: (await readFile(join(path!, "token"), "utf8")).trim(), agent };
    const t0 = performance.now();
    const page = await gql<NeuronsPage>(api, NEURONS_QUERY, neuronsVariables(runId, query));
    answer = { ms: performance.now() - t0, page };
  } finally {
    agent.destroy();
    await server.close();
  }
} else if (mode === "store") {
  const { Store } = await import("../server/store/store.js");
  const store = await Store.open(path!);
  try {
    const t0 = performance.now();
    const page = await store.queryScores(runId, query);
    answer = { ms: performance.now() - t0, page };
  } finally {
    await store.close();
  }
} else {
  throw new Error(`usage: graphql-first-call.js server DIR RUN QUERY | store FILE RUN QUERY (got ${mode})`);
}
process.stdout.write(JSON.stringify(answer));
