import { Agent, request } from "node:http";
import type { Store } from "../store/store.js";

/**
 * A run id no store hands out (ids count up from 1): the warm-up reads through the same code as
 * a real page and finds nothing, so it keeps nothing a client could later be answered from.
 */
const NO_RUN = "2147483647";

/**
 * Read once each: the request path of a list of objects (the first runs: their records, never a
 * score) and of a plain object, answered; then of a `neurons` page over the missing run (its error
 * nulls the whole answer, hence a query of its own): HTTP, Apollo, parse and validation, the gate,
 * the read and response caches, the resolver's store reads (empty), the answer and the error answer.
 */
const READING_QUERIES = [
  `query WarmUpObjects($first: Int!) {
  serverInfo { version limits { maxDepth maxComplexity maxPageSize } }
  runs(first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status layers positions dFF } } }
}`,
  `query WarmUpNeurons($run: ID!, $first: Int!, $min: Float) {
  neurons(runId: $run, metric: "warm-up", first: $first, minAbsR: $min) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id layer index r bestPosition rank } }
  }
}`,
];

/**
 * Sent again as new documents (a document sent again skips parsing and validation): parsing,
 * validating and estimating a page query, whose page is skipped, so nothing is read.
 */
const DOCUMENT_QUERY = `query WarmUpDocument($run: ID!, $first: Int!, $min: Float, $layer: Int, $after: String) {
  serverInfo { version }
  neurons(runId: $run, metric: "warm-up", first: $first, minAbsR: $min, layer: $layer, after: $after) @skip(if: true) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id layer index r bestPosition rank } }
  }
}`;

/** New documents after the reading queries: code that ran a few times runs faster than code that ran once. */
const DOCUMENT_PASSES = 8;

/**
 * Runs the request path before the first client does, so that it does not pay for compiling it
 * (50-80 ms in a fresh process): the store's ranked page query on `store` (the raw store, past the
 * read cache), then READING_QUERIES and DOCUMENT_PASSES new documents through the server's own
 * HTTP path at `url`, with `token` so they are let in whatever address they come from. Never
 * throws: the answers (nothing, or an error for the missing run) are dropped.
 */
export async function warmUp(options: { url: string; path: string; token: string; store: Store }): Promise<void> {
  await options.store.queryScores(Number(NO_RUN), { metric: "warm-up", agg: "max_abs_r", minAbsR: 0.5, first: 50 }).catch(() => undefined);
  const { hostname, port } = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const documents = [...READING_QUERIES, ...Array.from({ length: DOCUMENT_PASSES }, (_, pass) => `${DOCUMENT_QUERY}\n# pass ${pass}`)];
  try {
    for (const query of documents) {
      const body = JSON.stringify({ query, variables: { run: NO_RUN, first: 50, min: 0.5 } });
      const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${options.token}` };
      await new Promise<void>((resolve) => {
        const req = request({ host: hostname.replace(/^\[|\]$/g, ""), port, path: options.path, method: "POST", agent, headers }, (res) => {
          res.on("data", () => undefined);
          res.on("end", resolve);
          res.on("error", () => resolve());
        });
        req.on("error", () => resolve());
        req.end(body);
      });
    }
  } finally {
    agent.destroy();
  }
}
