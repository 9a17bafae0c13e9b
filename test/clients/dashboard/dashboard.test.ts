/**
 * The dashboard in Chromium against the real server: a DuckDB store seeded with a finished run
 * (real activations, scores from the analysis engine, one planted neuron) and a queued run that
 * the server's run manager starts on a held stand-in runner, whose status and training progress
 * events travel the server's real path to the browser; the live leaderboard is published on the
 * server's event bus. Screenshots go to test-results/dashboard/.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { leaderboardKey } from "../../../server/graphql/live-events.js";
import { startServer, type RunningServer } from "../../../server/http/server.js";
import { Store } from "../../../server/store/index.js";
import { HeldRunner } from "./held-runner.js";
import { PLANTED, seedFinishedRun, seedQueuedRun, SHAPE } from "./seed-run.js";
import { PLANTED_DIR, trainPlantedRun } from "./trained-run.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const SHOTS = join(ROOT, "test-results", "dashboard");

/** Polls `check` (browser state read through locators) until it holds; fails naming `what`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the figure's chart has drawn; fails with the figure's error message if it shows one instead. */
async function chartDrawn(page: Page, chart: string): Promise<void> {
  const canvas = page.locator(`[data-chart="${chart}"] canvas`);
  const errors = page.locator(".figure .notice-error");
  await until(`the ${chart} chart is drawn`, async () => {
    if ((await errors.count()) > 0) throw new Error(`a figure shows an error instead: ${(await errors.allTextContents()).join(" | ")}`);
    return (await canvas.count()) > 0;
  }, 30_000);
}

interface BuildModule {
  buildDashboard(outDir: string): Promise<void>;
}

interface ChromiumModule {
  launchChromium(options?: { env?: Record<string, string | undefined> }): Promise<Browser>;
}

describe("dashboard in Chromium", () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  let finishedRun: number;
  let liveRun: number;
  /** A run with a real checkpoint and trained prompt, for the causal panel. */
  let trainedRun: number;
  const runner = new HeldRunner();
  /** Console errors and uncaught exceptions of every page, with the page's URL. */
  const browserErrors: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "skillscope-dashboard-"));
    const dashboardDir = join(dir, "dashboard");
    const build = (await import(new URL("clients/dashboard/build.mjs", `file://${ROOT}`).href)) as BuildModule;
    await build.buildDashboard(dashboardDir);

    const dbPath = join(dir, "skillscope.duckdb");
    const store = await Store.open(dbPath);
    try {
      const seeded = await seedFinishedRun(store);
      finishedRun = seeded.runId;
      trainedRun = await trainPlantedRun(store);
      liveRun = await seedQueuedRun(store, seeded);
    } finally {
      await store.close();
    }
    // Two slots: the held live run keeps one for the whole suite; causal and probe jobs queue for the other.
    server = await startServer({
      host: "127.0.0.1", port: 0, dataDir: dir, dbPath, dashboardDir, modelRoots: [PLANTED_DIR],
      runner: { executor: runner.executor, concurrency: 2 },
    });
    assert.equal(await runner.started, String(liveRun));
    await mkdir(SHOTS, { recursive: true });
    // A missing browser must fail the suite, not skip it. LANG=C.UTF-8 gives Chromium a POSIX locale
    // (navigator.language "en-US@posix" for the npm-shipped browser), as on many servers.
    const { launchChromium } = (await import(new URL("clients/dashboard/chromium.mjs", `file://${ROOT}`).href)) as ChromiumModule;
    browser = await launchChromium({ env: { ...process.env, LANG: "C.UTF-8" } });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Opens the dashboard at `hash` in a fresh context; console errors go to `errors`. */
  async function open(hash: string, errors = browserErrors): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`${page.url()}: console error: ${message.text()}`);
    });
    page.on("pageerror", (error) => errors.push(`${page.url()}: uncaught ${error.message}`));
    await page.goto(`${server.url}/${hash}`);
    return page;
  }

  /** A full-page screenshot plus one per figure (`<name>-<figure>.png`), for reviewing readability. */
  async function shoot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    for (const figure of await page.locator("[data-figure]").all()) {
      const figureName = (await figure.getAttribute("data-figure"))!.replace(/[^A-Za-z0-9.-]+/g, "_");
      await figure.screenshot({ path: join(SHOTS, `${name}-${figureName}.png`) });
    }
  }

  /** How many progress events the server has stored for a run (over plain HTTP GraphQL). */
  async function storedEvents(runId: number): Promise<number> {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "query($id: ID!) { run(id: $id) { events(first: 1000) { seq } } }", variables: { id: String(runId) } }),
    });
    return ((await response.json()) as { data: { run: { events: unknown[] } } }).data.run.events.length;
  }

  /** One training step's progress report from the runner (validation every 10 steps). */
  function sendProgress(step: number): void {
    const validated = step % 10 === 0;
    runner.send({
      type: "progress",
      phase: "training",
      step,
      totalSteps: 200,
      epoch: 0,
      loss: 2.5 * Math.exp(-step / 30) + 0.4,
      lr: 0.003,
      ...(validated ? { valLoss: 2.6 * Math.exp(-step / 35) + 0.45, valAccuracy: 0.5 + 0.4 * (1 - Math.exp(-step / 60)) } : {}),
      tokensPerSec: 1200,
      etaSec: Math.max(0, 200 - step),
    });
  }

  it("lists the runs and updates an active run's state live", async () => {
    const page = await open("#/");
    const rows = page.locator("tr[data-run]");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 3);
    const finished = page.locator(`tr[data-run="${finishedRun}"] .status`);
    assert.equal(await finished.textContent(), "done");
    const live = page.locator(`tr[data-run="${liveRun}"] .status`);
    assert.equal(await live.textContent(), "running");
    runner.send({ type: "status", phase: "training", message: "training the soft prompt" });
    await until("the live run's badge reads training", async () => (await live.textContent()) === "training");
    await shoot(page, "runs");
    await page.context().close();
  });

  it("draws the live training curve, which gains points as progress is published", async () => {
    // Twelve reports before the page opens (stored), eighteen while it is open (live).
    for (let i = 0; i < 12; i++) sendProgress(i * 5);
    await until("the server has stored the 12 reports", async () => (await storedEvents(liveRun)) === 12);
    const page = await open(`#/runs/${liveRun}`);
    const chart = page.locator('[data-chart="training"]');
    const points = async (): Promise<number> => Number(await chart.getAttribute("data-points"));
    await until("the stored reports are drawn", async () => (await points()) === 12);
    for (let i = 12; i < 30; i++) sendProgress(i * 5);
    await until("the curve has gained 18 live points", async () => (await points()) === 30);
    assert.match((await page.locator('[data-role="curve-status"]').textContent()) ?? "", /last step 145 of 200/);
    assert.equal(await chart.locator("canvas").count(), 1);
    assert.equal(await page.locator("h1 .status").textContent(), "training");

    // The live leaderboard follows neuronLeaderboard events.
    const key = leaderboardKey(String(liveRun), "label");
    const entries = (shift: number) => [0, 1, 2].map((i) => ({ layer: 1, index: i + shift, r: 0.5 - i * 0.1, bestPosition: i }));
    server.live.publish("NEURON_LEADERBOARD", key, { runId: String(liveRun), metric: "label", samplesSeen: 32, entries: entries(0) });
    const leaders = page.locator("tr[data-leader]");
    await until("the leaderboard shows 3 neurons", async () => (await leaders.count()) === 3);
    assert.equal(await leaders.first().getAttribute("data-leader"), "L1.N0");
    server.live.publish("NEURON_LEADERBOARD", key, { runId: String(liveRun), metric: "label", samplesSeen: 64, entries: entries(5) });
    await until("the leaderboard updates", async () => (await leaders.first().getAttribute("data-leader")) === "L1.N5");
    assert.equal(await page.locator('[data-role="samples-seen"]').textContent(), "after 64 validation samples");
    await shoot(page, "run-live");

    // Extraction: the state changes live; its progress (batches, not steps) adds no point to the curve.
    runner.send({ type: "status", phase: "extracting", message: "extracting activations" });
    runner.send({ type: "progress", phase: "extracting", step: 1, totalSteps: 5, epoch: 0, loss: 0.61, lr: 0, tokensPerSec: 3000, etaSec: 4 });
    await until("the badge reads extracting", async () => (await page.locator("h1 .status").textContent()) === "extracting");
    await until("the status line reports extraction", async () => /extracting: batch 1 of 5/.test((await page.locator('[data-role="curve-status"]').textContent()) ?? ""));
    assert.equal(await points(), 30);
    await page.context().close();
  });

  it("shows a finished run: stored training curve, r histograms, heat map and a sortable top-neuron table", async () => {
    const page = await open(`#/runs/${finishedRun}`);
    await chartDrawn(page, "r-histogram");
    await chartDrawn(page, "heatmap");
    const firstNeuron = page.locator("tr[data-neuron]").first();
    await firstNeuron.waitFor();
    // The planted neuron ranks first for the label.
    assert.equal(await firstNeuron.getAttribute("data-neuron"), `L${PLANTED.layer}.N${PLANTED.index}`);
    assert.equal(await page.locator("tr[data-neuron]").count(), 50);
    assert.equal(Number(await page.locator('[data-chart="training"]').getAttribute("data-points")), 8);
    // Clicking a numeric header sorts by it, largest first.
    await page.locator('[data-figure$="top-neurons"] th', { hasText: /^layer$/ }).click();
    const layers = await page.locator("tr[data-neuron] td:nth-child(3)").allTextContents();
    assert.deepEqual(layers.map(Number), [...layers.map(Number)].sort((a, b) => b - a));
    // Filtering by layer re-queries the server.
    await page.locator('select[name="layer"]').selectOption(String(PLANTED.layer));
    await until(`the table lists layer ${PLANTED.layer} only`, async () => {
      const cells = await page.locator("tr[data-neuron] td:nth-child(3)").allTextContents();
      return cells.length === SHAPE.dFF && cells.every((c) => c === String(PLANTED.layer));
    });
    await shoot(page, "run-finished");

    // Opening a neuron by id refuses ids the run does not have, and opens one it has.
    const jump = page.locator('input[name="neuron"]');
    await jump.fill("L9.N0");
    await jump.press("Enter");
    assert.match(await jump.evaluate((el) => (el as unknown as { validationMessage: string }).validationMessage), /recorded layers 0, 1, 2, 3/);
    assert.match(page.url(), new RegExp(`#/runs/${finishedRun}$`));
    await jump.fill("L1.N5");
    await jump.press("Enter");
    await until("the typed neuron opens", async () => page.url().includes(`#/runs/${finishedRun}/neurons/L1.N5?metric=label`));
    await page.goBack();
    await chartDrawn(page, "heatmap");

    // Another metric re-draws every score figure from its own request.
    await page.locator('select[name="metric"]').selectOption("loss");
    for (const name of ["r-histograms", "heatmap", "top-neurons"]) {
      const box = page.locator(`[data-figure$="${name}"] .query-text`);
      await until(`the ${name} figure shows the loss metric`, async () => /"metric": "loss"/.test((await box.textContent()) ?? ""));
    }
    await chartDrawn(page, "r-histogram");
    await chartDrawn(page, "heatmap");
    await page.locator('select[name="metric"]').selectOption("label");
    await until("the table ranks for the label again", async () => (await page.locator("tr[data-neuron]").first().getAttribute("data-neuron")) === `L${PLANTED.layer}.N${PLANTED.index}`);

    // Clicking the planted neuron's heat-map cell opens that neuron (layers run bottom to top).
    const canvas = page.locator('[data-chart="heatmap"] canvas');
    const grid = JSON.parse((await canvas.getAttribute("data-grid"))!) as { left: number; top: number; cellW: number; cellH: number; rows: number };
    const row = SHAPE.layers.indexOf(PLANTED.layer);
    await canvas.click({ position: { x: grid.left + (PLANTED.position + 0.5) * grid.cellW, y: grid.top + (grid.rows - 1 - row + 0.5) * grid.cellH } });
    await until("the neuron page opens", async () => page.url().endsWith(`#/runs/${finishedRun}/neurons/L${PLANTED.layer}.N${PLANTED.index}?metric=label`));
    await page.context().close();
  });

  it("renders under a POSIX locale (navigator.language en-US@posix), where Intl refuses the tag", async () => {
    const errors: string[] = [];
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Whatever locale this browser was started in, the page sees the POSIX tag a C.UTF-8 server gives.
    await context.addInitScript('Object.defineProperty(Navigator.prototype, "language", { get: () => "en-US@posix", configurable: true });');
    const page = await context.newPage();
    page.on("pageerror", (error) => errors.push(`uncaught ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`console error: ${message.text()}`);
    });
    const reported = (await page.evaluate("navigator.language")) as string;
    assert.equal(reported, "en-US@posix");
    assert.throws(() => new Intl.NumberFormat(reported), RangeError, "the condition under test: Intl refuses a POSIX tag");
    await page.goto(`${server.url}/#/runs/${finishedRun}`);
    await chartDrawn(page, "r-histogram");
    await page.locator("tr[data-neuron]").first().waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("draws the permutation-null band and the chance level of |r| on a layer's r histogram", async () => {
    const page = await open(`#/runs/${finishedRun}`);
    await chartDrawn(page, "r-null");
    const box = page.locator('[data-chart="r-null"]');
    // The planted layer has the most pairs beyond chance, so it is shown first.
    assert.equal(await box.getAttribute("data-layer"), String(PLANTED.layer));
    const legend = await box.locator(".u-legend .u-series .u-label").allTextContents();
    assert.deepEqual(legend.slice(1), [`observed, layer ${PLANTED.layer}`, "expected if no neuron carried the metric", "null ±2 sd (upper)", "null ±2 sd (lower)"]);
    // The markers drawn are ±maxAbsR999 of the same significance query, fetched here over plain HTTP.
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: 'query($id: ID!) { significance(runId: $id, metric: "label", bins: 200) { maxAbsR999 bhAbsRThreshold layers { layer observed expectedNull } } }', variables: { id: String(finishedRun) } }),
    });
    const sig = ((await response.json()) as { data: { significance: { maxAbsR999: number; bhAbsRThreshold: number | null; layers: { layer: number; observed: number[]; expectedNull: number[] }[] } } }).data.significance;
    await until("the chance markers are drawn", async () => (await box.getAttribute("data-markers")) !== null);
    const markers = JSON.parse((await box.getAttribute("data-markers"))!) as number[];
    assert.deepEqual(markers.slice(0, 2), [-sig.maxAbsR999, sig.maxAbsR999]);
    assert.ok(sig.maxAbsR999 > 0.1 && sig.maxAbsR999 < 1, `chance level ${sig.maxAbsR999}`);
    // The null expects as many pairs per layer as were observed: every (position, neuron) pair.
    const layer = sig.layers.find((l) => l.layer === PLANTED.layer)!;
    const total = (v: number[]) => v.reduce((a, b) => a + b, 0);
    assert.equal(total(layer.observed), SHAPE.positions * SHAPE.dFF);
    assert.ok(Math.abs(total(layer.expectedNull) - SHAPE.positions * SHAPE.dFF) < 1e-6 * SHAPE.positions * SHAPE.dFF);
    assert.match((await page.locator('[data-role="null-summary"]').textContent()) ?? "", new RegExp(`^Layer ${PLANTED.layer}: [1-9]\\d* of ${SHAPE.positions * SHAPE.dFF} `));
    // Another layer on demand.
    await page.locator('select[name="null-layer"]').selectOption("0");
    await until("layer 0 is drawn", async () => (await page.locator('[data-chart="r-null"]').getAttribute("data-layer")) === "0");
    await page.locator('select[name="null-layer"]').selectOption(String(PLANTED.layer));
    await until("the planted layer is drawn again", async () => (await page.locator('[data-chart="r-null"]').getAttribute("data-layer")) === String(PLANTED.layer));
    await chartDrawn(page, "r-null");
    await page.locator('[data-figure$="r-null"]').screenshot({ path: join(SHOTS, "r-null-band.png") });
    await page.context().close();
  });

  it("runs the causal check from the run page with the token, and draws top-K vs random changes with intervals", async () => {
    // The refused attempt logs its HTTP 401 in the console: keep this page's errors apart.
    const errors: string[] = [];
    const page = await open(`#/runs/${trainedRun}`, errors);
    const form = page.locator(".causal-form");
    await form.waitFor();
    await form.locator('select[name="causal-metric"]').selectOption("colors");
    await form.locator('input[name="k"]').fill("1");
    await form.locator('input[name="draws"]').fill("6");
    const panel = page.locator('[data-figure$="-causal"]');
    await form.locator('input[name="token"]').fill("not-the-token");
    await form.locator("button").click();
    await until("the refusal is explained", async () => /paste its token/.test((await panel.locator(".notice-error").textContent().catch(() => "")) ?? ""));

    const token = (await readFile(join(dir, "token"), "utf8")).trim();
    await form.locator('input[name="token"]').fill(token);
    await form.locator("button").click();
    const svg = panel.locator('[data-chart="causal-effects"] svg');
    await until("the effect chart is drawn", async () => {
      if ((await panel.locator(".notice-error").count()) > 0) throw new Error(`the panel shows an error: ${await panel.locator(".notice-error").textContent()}`);
      return (await svg.count()) > 0;
    }, 60_000);
    assert.match((await panel.locator("p.muted").first().textContent()) ?? "", /^zero ablation of L0\.N7 on 40 validation samples; 6 random sets\.$/);
    // Ablating the planted neuron raises the loss beyond every random set; each set is drawn as a dot.
    const estimate = async (key: string) => Number(await svg.locator(`[data-interval="${key}"]`).getAttribute("data-estimate"));
    const topLoss = await estimate("loss-topK");
    const randomLoss = await estimate("loss-random");
    assert.ok(topLoss > 0 && topLoss > 4 * Math.abs(randomLoss), `Δ loss top-K ${topLoss} vs random ${randomLoss}`);
    assert.equal(await svg.locator('[data-measure="loss"] circle').count(), 6 + 2);
    const interval = svg.locator('[data-interval="loss-random"]');
    assert.ok(Number(await interval.getAttribute("data-low")) <= randomLoss && randomLoss <= Number(await interval.getAttribute("data-high")));
    assert.deepEqual(await panel.locator("tr[data-effect]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-effect"))), ["accuracy", "loss"]);
    // Its request can be replayed outside the browser, with the token from the data directory (never the token itself).
    const replay = (await panel.locator(".query-text").textContent()) ?? "";
    assert.match(replay, /^mutation AblateNeurons[\s\S]*-H "Authorization: Bearer \$\(cat <dataDir>\/token\)"/);
    assert.ok(!replay.includes(token));
    // The token stays for this tab only.
    assert.equal(await page.evaluate("sessionStorage.getItem('skillscope.token')"), token);
    await panel.screenshot({ path: join(SHOTS, "causal-check.png") });
    assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
    await page.context().close();
  });

  it("offers every figure's data as JSON with the GraphQL query behind it", async () => {
    const page = await open(`#/runs/${finishedRun}`);
    const figureEl = page.locator('[data-figure$="r-histograms"]');
    await chartDrawn(page, "r-histogram");
    const [download] = await Promise.all([page.waitForEvent("download"), figureEl.locator("button", { hasText: "JSON" }).click()]);
    const saved = JSON.parse(await readFile(await download.path(), "utf8")) as { query: string; variables: { runId: string }; data: Record<string, { counts: number[] }> };
    assert.match(saved.query, /correlationHistogram\(/);
    assert.equal(saved.variables.runId, String(finishedRun));
    // Every layer's histogram counts all its neurons.
    for (const layer of SHAPE.layers) assert.equal(saved.data[`l${layer}`]!.counts.reduce((a, b) => a + b, 0), SHAPE.dFF);
    // The same query answers over plain HTTP, as a notebook would send it.
    const response = await fetch(`${server.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: saved.query, variables: saved.variables }) });
    assert.deepEqual(((await response.json()) as { data: unknown }).data, saved.data);
    // The query box shows the same request, ready to copy.
    await figureEl.locator(".query-box summary").click();
    assert.match((await figureEl.locator(".query-text").textContent()) ?? "", /^query CorrelationHistograms[\s\S]*# fetch it yourself\ncurl -s /);
    await figureEl.screenshot({ path: join(SHOTS, "figure-with-query.png") });
    await page.context().close();
  });

  it("shows a neuron: r per position, activation histogram split by the metric, extremal samples", async () => {
    const id = `L${PLANTED.layer}.N${PLANTED.index}`;
    const page = await open(`#/runs/${finishedRun}/neurons/${id}?metric=label`);
    await chartDrawn(page, "r-by-position");
    await chartDrawn(page, "activation-histogram");
    const high = page.locator('[data-extremal="high"] tbody tr');
    const low = page.locator('[data-extremal="low"] tbody tr');
    await high.first().waitFor();
    assert.equal(await high.count(), 10);
    assert.equal(await low.count(), 10);
    // The planted neuron fires for label 1: its highest samples have label 1, its lowest label 0.
    const labelColumn = async (rows: typeof high): Promise<string[]> => {
      const headers = await rows.first().locator("xpath=ancestor::table").locator("th").allTextContents();
      const column = headers.findIndex((t) => t.trim() === "label") + 1;
      assert.ok(column > 0, `no label column in ${headers.join(", ")}`);
      return rows.locator(`td:nth-child(${column})`).allTextContents();
    };
    assert.deepEqual(await labelColumn(high), new Array(10).fill("1"));
    assert.deepEqual(await labelColumn(low), new Array(10).fill("0"));
    const text = (await high.first().locator(".sample-text").textContent()) ?? "";
    assert.match(text, /^Review: .+\nIs this review positive\?$/);
    // Samples and histogram read the neuron's best position for the metric, and say so; r comes with its position-corrected p.
    assert.equal(await page.locator('[data-role="reading"]').textContent(), `at position ${PLANTED.position}, its best position for label`);
    assert.match((await page.locator('[data-role="best-position"]').textContent()) ?? "", new RegExp(`^Ranked #1 by \\|r\\| with label, strongest at position ${PLANTED.position}: .*p corrected for choosing the best of ${SHAPE.positions} positions`));
    assert.deepEqual(new Set(await high.locator("td:nth-child(3)").allTextContents()), new Set([String(PLANTED.position)]));
    // Split by label: two series in the legend.
    const legend = await page.locator('[data-chart="activation-histogram"] .u-legend .u-series .u-label').allTextContents();
    assert.deepEqual(legend.slice(1), ["label = 0", "label = 1"]);
    await shoot(page, "neuron");
    await page.context().close();
  });

  it("documents the API with examples that run against the server", async () => {
    const page = await open("#/api");
    await page.locator("code").first().waitFor();
    assert.equal(await page.locator("code").first().textContent(), `${server.url}/graphql`);
    const python = (await page.locator("pre").nth(1).textContent()) ?? "";
    const graphql = /query = """([\s\S]*?)"""/.exec(python)?.[1];
    assert.ok(graphql, `no query in the Python example:\n${python}`);
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: graphql, variables: { runId: String(finishedRun), metric: "label" } }),
    });
    const body = (await response.json()) as { data?: { neurons: { edges: { node: { id: string } }[] } }; errors?: unknown };
    assert.equal(body.errors, undefined);
    assert.equal(body.data!.neurons.edges[0]!.node.id, `L${PLANTED.layer}.N${PLANTED.index}`);
    await shoot(page, "api");
    await page.context().close();
  });

  it("explains bad addresses instead of failing silently", async () => {
    const failures: string[] = [];
    const alertOf = async (hash: string): Promise<string> => {
      const page = await open(hash, failures);
      const alert = page.locator('[role="alert"]').first();
      await alert.waitFor();
      const text = (await alert.textContent()) ?? "";
      await page.context().close();
      return text;
    };
    assert.match(await alertOf("#/runs/999"), /run 999/i);
    assert.match(await alertOf(`#/runs/${finishedRun}/neurons/L9.N0`), /layer/);
    assert.match(await alertOf("#/nowhere"), /No page at "#\/nowhere"/);
    // Scripts never crash on them (a failed request may still log its HTTP status).
    assert.deepEqual(failures.filter((f) => f.includes("uncaught")), []);
  });

  it("probes a neuron in the test box: typed inputs move the planted L0.N7 as the fixture says, and Stop cancels", async () => {
    const page = await open(`#/runs/${trainedRun}/neurons/L0.N7?metric=colors`);
    const form = page.locator(".probe-form");
    await form.waitFor();
    const panel = page.locator('[data-figure$="-probe"]');
    await form.locator('textarea[name="probe-texts"]').fill("the cat sat on the mat very good\nred blue green red blue green red blue");
    await form.locator('button[type="submit"]').click();
    const rows = panel.locator('[data-probe="results"] tr[data-sample]');
    await until("the probe results are shown", async () => {
      if ((await panel.locator(".notice-error").count()) > 0) throw new Error(`the panel shows an error: ${await panel.locator(".notice-error").textContent()}`);
      return (await rows.count()) === 2;
    }, 30_000);
    const cells = async (i: number) => rows.nth(i).locator("td").allTextContents();
    const [none, colours] = [await cells(0), await cells(1)];
    assert.equal(none[0], "the cat sat on the mat very good question", "the task's template is applied");
    assert.ok(Number(colours[1]) > Number(none[1]), `activation with colour words ${colours[1]} vs without ${none[1]}`);
    assert.ok(Number(colours[2]) > 90 && Number(none[2]) < 50, `percentiles ${colours[2]} and ${none[2]}`);
    assert.match((await panel.locator("p.muted").first().textContent()) ?? "", /^L0\.N7 read at position \d+ \(its best for colors\)/);
    await panel.screenshot({ path: join(SHOTS, "probe-test-box.png") });

    // a long list, stopped: the request closes and the panel says so
    await form.locator('textarea[name="probe-texts"]').evaluate((el, text) => ((el as unknown as { value: string }).value = text), Array.from({ length: 3000 }, (_, i) => `red cat ${i}`).join("\n"));
    await form.locator('button[type="submit"]').click();
    await form.locator("button.link-button").click();
    await until("the stop is reported", async () => /Stopped/.test((await panel.locator(".notice").textContent().catch(() => "")) ?? ""));
    assert.equal(await form.locator('button[type="submit"]').isDisabled(), false);
    await page.context().close();
  });

  it("rendered every page without console errors", () => {
    assert.deepEqual(browserErrors, []);
  });
});
