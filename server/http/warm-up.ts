import { request } from "node:http";
import type { Store } from "../store/store.js";

/**
 * A run id no store hands out (ids count up from 1): the warm-up reads through the same code as
 * a real page and finds nothing, so it keeps nothing a client could later be answered from.
 */
const NO_RUN = "2147483647";

/** Rounds of warm-up queries at start: code that ran a few times runs faster than code that ran once. */
const WARM_UP_PASSES = 4;

/**
 * The request path of a list of objects (the first runs: their records, never a score) and of a
 * plain object, answered; then of a `neurons` page over the missing run (its error nulls the whole
 * answer, hence a query of its own): HTTP, Apollo, parse and validation, the gate, the read and
 * response caches, the resolver's store reads (empty), the answer and the error answer.
 */
const WARM_UP_QUERIES = [
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
 * Runs the request path before the first client does, so that it does not pay for compiling it
 * (50-80 ms in a fresh process): the store's ranked page query on `store` (the raw store, past the
 * read cache), then WARM_UP_PASSES rounds of WARM_UP_QUERIES through the server's own HTTP path at `url`, each a new
 * document (a document sent again skips parsing and validation), with `token` so they are let in
 * whatever address they come from. Never throws: the answers (nothing, or an error for the missing
 * run) are dropped.
 */
export async function warmUp(options: { url: string; path: string; token: string; store: Store }): Promise<void> {
  await options.store.queryScores(Number(NO_RUN), { metric: "warm-up", agg: "max_abs_r", minAbsR: 0.5, first: 50 }).catch(() => undefined);
  const { hostname, port } = new URL(options.url);
  for (let pass = 0; pass < WARM_UP_PASSES; pass++) for (const query of WARM_UP_QUERIES) {
    const body = JSON.stringify({ query: `${query}\n# pass ${pass}`, variables: { run: NO_RUN, first: 50, min: 0.5 } });
    const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${options.token}` };
    await new Promise<void>((resolve) => {
      const req = request({ host: hostname.replace(/^\[|\]$/g, ""), port, path: options.path, method: "POST", agent: false, headers }, (res) => {
        res.on("data", () => undefined);
        res.on("end", resolve);
        res.on("error", () => resolve());
      });
      req.on("error", () => resolve());
      req.end(body);
    });
  }
}
