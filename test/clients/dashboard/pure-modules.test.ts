/**
 * The dashboard's DOM-free modules, bundled by esbuild as the browser gets them and imported here:
 * the activation histogram split by metric value (oracle: the analysis engine's histogram of all
 * samples, and a direct count per group), the hash router, and every GraphQL request the dashboard
 * sends, validated against the server's schema and limits at a 7B model's shape.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { print, validate, type DocumentNode, type GraphQLSchema } from "graphql";
import { histogram, Prng } from "../../../server/analysis/index.js";
import { assertWithinLimits, DEFAULT_LIMITS } from "../../../server/graphql/limits.js";
import { LiveEvents } from "../../../server/graphql/live-events.js";
import { buildApiSchema } from "../../../server/graphql/schema.js";

const SRC = fileURLToPath(new URL("../../../../clients/dashboard/src/", import.meta.url));

/** What the neuron page reads (queries.ts ReadingChoice). */
interface Reading {
  position: number | null;
  maxOverPositions: boolean;
}

interface SplitModule {
  splitByMetric(edges: readonly number[], samples: readonly { activation: number; value: number | null }[], metric: string): { label: string; counts: number[] }[];
}
type Route = { page: string; runId?: string; layer?: number; index?: number; metric?: string; hash?: string };
interface RouterModule {
  parseRoute(hash: string): Route;
  neuronHref(runId: string, layer: number, index: number, metric?: string): string;
}

/** A request as queries.ts builds it: a document of the typed client and its variables. */
interface Request {
  document: DocumentNode;
  variables: Record<string, unknown>;
}
type QueriesModule = Record<string, unknown> & {
  runsRequest(): Request;
  runRequest(id: string): Request;
  runEventsRequest(id: string, afterSeq?: number, first?: number): Request;
  trainingProgressRequest(runId: string): Request;
  runStatusRequest(runId: string): Request;
  neuronsRequest(filter: { runId: string; metric: string; aggregate: string; layer?: number | null; first: number }): Request;
  strongestPerCellRequest(runId: string, metric: string, layers: readonly number[], positions: number): Request;
  correlationHistogramsRequest(runId: string, metric: string, aggregate: string, layers: readonly number[], bins: number): Request;
  neuronRequest(runId: string, layer: number, index: number, metric: string, k: number, reading: Reading, bins: number): Request;
  activationsWithMetricRequest(runId: string, layer: number, index: number, metric: string, k: number, reading: Reading): Request;
  significanceRequest(runId: string, metric: string, bins: number): Request;
  ablateRequest(runId: string, metric: string, k: number, mode: string, randomDraws: number, seed: number): Request;
  leaderboardRequest(runId: string, metric: string, k: number): Request;
  serverLimitsRequest(): Request;
  probeRequest(runId: string, neuronId: string, metric: string, texts: readonly string[], raw: boolean, answer: string | null): Request;
};

describe("dashboard pure modules", () => {
  let dir: string;
  let split: SplitModule;
  let router: RouterModule;
  let queries: QueriesModule;
  let schema: GraphQLSchema;

  /** Bundles one module of the dashboard to ESM and imports it. */
  async function load<T>(file: string): Promise<T> {
    const out = join(dir, file.replace(/\.ts$/, ".mjs"));
    const result = await build({ entryPoints: [join(SRC, file)], bundle: true, format: "esm", platform: "neutral", write: false });
    await writeFile(out, result.outputFiles[0]!.text);
    return (await import(pathToFileURL(out).href)) as T;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "skillscope-dashboard-modules-"));
    split = await load<SplitModule>("split-by-metric.ts");
    router = await load<RouterModule>("router.ts");
    queries = await load<QueriesModule>("queries.ts");
    schema = await buildApiSchema(new LiveEvents());
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("splits by a discrete metric: groups sum to the server's histogram, each group counts its samples", () => {
    const rng = new Prng(3);
    const samples = Array.from({ length: 500 }, (_, i) => ({ activation: rng.nextGaussian() + (i % 3), value: i % 3 }));
    const all = histogram(samples.map((s) => s.activation), 25, -4, 6);
    const edges = Array.from(all.edges);
    const groups = split.splitByMetric(edges, samples, "digit");
    assert.deepEqual(groups.map((g) => g.label), ["digit = 0", "digit = 1", "digit = 2"]);
    const summed = edges.slice(1).map((_, b) => groups.reduce((a, g) => a + g.counts[b]!, 0));
    assert.deepEqual(summed, Array.from(all.counts));
    groups.forEach((g, v) => {
      const own = histogram(samples.filter((s) => s.value === v).map((s) => s.activation), 25, -4, 6);
      assert.deepEqual(g.counts, Array.from(own.counts));
    });
  });

  it("splits a continuous metric at its median and keeps samples without a value apart", () => {
    const samples = Array.from({ length: 101 }, (_, i) => ({ activation: i / 100, value: i === 7 ? null : i * 0.37 }));
    const edges = Array.from(histogram([0, 1], 10, 0, 1).edges);
    const groups = split.splitByMetric(edges, samples, "loss");
    assert.equal(groups.length, 3);
    // 100 defined values; the median is the 51st smallest (index 50 of the sorted list).
    const sorted = samples.filter((s) => s.value !== null).map((s) => s.value!).sort((a, b) => a - b);
    const median = sorted[50]!;
    assert.match(groups[0]!.label, /^loss < /);
    assert.match(groups[1]!.label, /^loss ≥ /);
    assert.equal(groups[2]!.label, "no loss value");
    const count = (g: { counts: number[] }): number => g.counts.reduce((a, b) => a + b, 0);
    assert.equal(count(groups[0]!), sorted.filter((v) => v < median).length);
    assert.equal(count(groups[1]!), sorted.filter((v) => v >= median).length);
    assert.equal(count(groups[2]!), 1);
    // The top activation (1.0, on the closed last edge) lands in the last bin.
    assert.equal(groups[1]!.counts[9]! >= 1, true);
  });

  it("sends only requests the server's schema accepts, within its limits at a 7B model's shape", () => {
    // 32 layers x 20 soft positions, 1000 validation samples, the server's default limits.
    const layers = Array.from({ length: 32 }, (_, l) => l);
    const requests: Record<string, Request> = {
      runs: queries.runsRequest(),
      run: queries.runRequest("1"),
      runEvents: queries.runEventsRequest("1", 0, 1000),
      trainingProgress: queries.trainingProgressRequest("1"),
      runStatus: queries.runStatusRequest("1"),
      neurons: queries.neuronsRequest({ runId: "1", metric: "label", aggregate: "MAX_ACTIVATION", layer: 3, first: 50 }),
      heatmap: queries.strongestPerCellRequest("1", "label", layers, 20),
      histograms: queries.correlationHistogramsRequest("1", "label", "MAX_ABS_OVER_POSITIONS", layers, 200),
      neuron: queries.neuronRequest("1", 3, 11007, "label", 10, { position: null, maxOverPositions: false }, 40),
      activationsWithMetric: queries.activationsWithMetricRequest("1", 3, 11007, "label", DEFAULT_LIMITS.maxPageSize, { position: 4, maxOverPositions: false }),
      leaderboard: queries.leaderboardRequest("1", "label", 20),
      limits: queries.serverLimitsRequest(),
      significance: queries.significanceRequest("1", "label", 200),
      // the largest the panel offers (its k field stops at 100)
      ablate: queries.ablateRequest("1", "label", 100, "NOISE", 200, 0),
      probe: queries.probeRequest("1", "L3.N11007", "label", ["one input", "another"], false, null),
    };
    const builders = Object.keys(queries).filter((name) => name.endsWith("Request"));
    assert.equal(builders.length, Object.keys(requests).length, `every request builder is checked (${builders.join(", ")})`);
    for (const [name, request] of Object.entries(requests)) {
      const { document, variables } = request;
      const query = print(document);
      const errors = validate(schema, document);
      assert.deepEqual(errors.map((e) => e.message), [], `${name}: ${query}`);
      assert.doesNotThrow(() => assertWithinLimits({ schema, document, variables, limits: DEFAULT_LIMITS }), `${name} exceeds the server's limits`);
      assert.ok(Buffer.byteLength(JSON.stringify({ query, variables })) < DEFAULT_LIMITS.maxBodyBytes, `${name} is too large a body`);
    }
  });

  it("routes hashes to pages and back", () => {
    assert.deepEqual(router.parseRoute(""), { page: "runs" });
    assert.deepEqual(router.parseRoute("#/"), { page: "runs" });
    assert.deepEqual(router.parseRoute("#/api"), { page: "api" });
    assert.deepEqual(router.parseRoute("#/runs/12"), { page: "run", runId: "12" });
    const href = router.neuronHref("12", 3, 4095, "lexical overlap");
    assert.equal(href, "#/runs/12/neurons/L3.N4095?metric=lexical%20overlap");
    assert.deepEqual(router.parseRoute(href), { page: "neuron", runId: "12", layer: 3, index: 4095, metric: "lexical overlap" });
    assert.deepEqual(router.parseRoute("#/runs/12/neurons/L3.X1"), { page: "not-found", hash: "#/runs/12/neurons/L3.X1" });
  });
});
