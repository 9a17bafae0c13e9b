/**
 * The built CLI end to end on the gpt2-tiny fixture: `run --json` trains and extracts a real run,
 * then every read command is checked against correlations recomputed here, in float64 two-pass
 * form, from the activations and metrics the store holds; the same commands over `--server` must
 * print the same JSON; `metric add` of a planted metric must find its neuron at r = 1.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Store } from "../../../server/store/store.js";
import { cli, ROOT, runNode, startServe, type CliResult } from "./run-cli.js";

const MODEL = join(ROOT, "test/fixtures/models/gpt2-tiny");
const TASK = join(ROOT, "test/fixtures/cli/sentiment.jsonl");
const VAL_ROWS = 16;

interface NeuronRow {
  rank: number;
  id: string;
  layer: number;
  index: number;
  r: number;
  bestPosition: number | null;
  pAtPosition: number | null;
  pCorrected: number | null;
}

/** r per (layer, position, neuron) and the per-neuron max |r| over positions, from stored data. */
interface Oracle {
  layers: number[];
  positions: number;
  dFF: number;
  /** layer -> [P * F] */
  r: Map<number, Float64Array>;
  /** layer -> [N, P, F] activations in sample order, and the sample ids of the rows. */
  acts: Map<number, Float32Array>;
  sampleIds: string[];
}

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

async function oracleFor(db: string, runId: number, metric: string): Promise<Oracle> {
  const store = await Store.open(db);
  try {
    const run = await store.getRun(runId);
    const outputs = await store.readSampleOutputs(runId);
    const idOf = new Map<number, string>();
    outputs.sampleIdx.forEach((idx, i) => idOf.set(idx, outputs.sampleId[i]!));
    const values = await store.readMetricAligned(runId, metric);
    const valueOf = new Map(values.sampleId.map((id, i) => [id, values.value[i]!]));
    const layers = run.layers!;
    const r = new Map<number, Float64Array>();
    const acts = new Map<number, Float32Array>();
    let positions = 0;
    let dFF = 0;
    let sampleIds: string[] = [];
    for (const layer of layers) {
      const a = await store.readActivations(runId, layer);
      ({ positions, dFF } = a);
      sampleIds = Array.from(a.sampleIdx, (idx) => idOf.get(idx)!);
      const y = Float64Array.from(sampleIds, (id) => valueOf.get(id)!);
      const cols = positions * dFF;
      const out = new Float64Array(cols);
      const x = new Float64Array(sampleIds.length);
      for (let c = 0; c < cols; c++) {
        for (let s = 0; s < sampleIds.length; s++) x[s] = a.data[s * cols + c]!;
        out[c] = pearson(x, y);
      }
      r.set(layer, out);
      acts.set(layer, a.data);
    }
    return { layers, positions, dFF, r, acts, sampleIds };
  } finally {
    await store.close();
  }
}

/** Neurons by max |r| over positions, descending: the ranking `neurons` must print. */
function ranked(o: Oracle): { layer: number; index: number; r: number; position: number }[] {
  const out: { layer: number; index: number; r: number; position: number }[] = [];
  for (const layer of o.layers) {
    const r = o.r.get(layer)!;
    for (let n = 0; n < o.dFF; n++) {
      let best = -1;
      for (let p = 0; p < o.positions; p++) {
        const v = r[p * o.dFF + n]!;
        if (Number.isFinite(v) && (best < 0 || Math.abs(v) > Math.abs(r[best * o.dFF + n]!))) best = p;
      }
      if (best >= 0) out.push({ layer, index: n, r: r[best * o.dFF + n]!, position: best });
    }
  }
  return out.sort((a, b) => Math.abs(b.r) - Math.abs(a.r));
}

function json<T>(result: CliResult, what: string): T {
  assert.equal(result.code, 0, `${what} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

describe("skillscope CLI end to end (gpt2-tiny, embedded and --server)", () => {
  const dir = mkdtempSync(join(tmpdir(), "skillscope-cli-e2e-"));
  const db = join(dir, "e2e.duckdb");
  const conn = ["--data-dir", dir, "--db", db];
  let runId: string;
  let runResult: { runId: string; trainLoss: number; valLoss: number; valAccuracy: number; samples: number; top: { metric: string; layer: number; neuron: number; position: number; r: number }[] };
  let oracle: Oracle;

  before(async () => {
    runResult = json(
      await cli([
        "run", "--model", MODEL, "--task", TASK, "--template", "{text} answer", "--verbalizer", '{"0":"no","1":"yes"}',
        "--steps", "4", "--prompt-length", "4", "--seed", "1", "--top", "5", "--json", ...conn,
      ]),
      "run",
    );
    runId = runResult.runId;
    oracle = await oracleFor(db, Number(runId), "label");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("run --json reports the finished run's figures and its top neurons per metric", () => {
    assert.deepEqual(Object.keys(runResult).sort(), ["keptPromptStep", "runId", "samples", "top", "trainLoss", "trainedSteps", "valAccuracy", "valLoss"]);
    assert.equal(runResult.samples, VAL_ROWS);
    assert.ok(Number.isFinite(runResult.trainLoss) && runResult.trainLoss > 0);
    assert.ok(Number.isFinite(runResult.valLoss) && runResult.valLoss > 0);
    assert.ok(runResult.valAccuracy >= 0 && runResult.valAccuracy <= 1);
    const label = runResult.top.filter((t) => t.metric === "label");
    assert.equal(label.length, 5);
    const expected = ranked(oracle).slice(0, 5);
    label.forEach((t, i) => {
      assert.ok(Math.abs(Math.abs(t.r) - Math.abs(expected[i]!.r)) < 1e-6, `label top ${i}: |r| ${t.r} vs ${expected[i]!.r}`);
    });
    assert.ok(runResult.top.some((t) => t.metric === "n_words"), "task columns become metrics");
  });

  it("models and tasks list what run registered and imported; a second run reuses the model and the task", async () => {
    json(await cli(["run", "--model", MODEL, "--task", TASK, "--template", "{text} answer", "--verbalizer", '{"0":"no","1":"yes"}', "--steps", "1", "--prompt-length", "2", "--layers", "1", "--metric", "label", "--json", ...conn]), "second run");
    const { models } = json<{ models: { family: string; path: string }[] }>(await cli(["models", "--json", ...conn]), "models");
    assert.deepEqual(models.map((m) => [m.family, m.path]), [["gpt2", MODEL]]);
    const { tasks } = json<{ tasks: { name: string; train: number; val: number; template: string }[] }>(await cli(["tasks", "--json", ...conn]), "tasks");
    assert.deepEqual(tasks.map((t) => [t.name, t.train, t.val, t.template]), [["sentiment.jsonl", 16, VAL_ROWS, "{text} answer"]]);
  });

  it("neurons --top 5 --json matches r recomputed from the stored activations", async () => {
    const out = json<{ totalCount: number; neurons: NeuronRow[] }>(await cli(["neurons", "--run", runId, "--metric", "label", "--top", "5", "--json", ...conn]), "neurons");
    const expected = ranked(oracle);
    assert.equal(out.totalCount, expected.length);
    assert.equal(out.neurons.length, 5);
    out.neurons.forEach((n, i) => {
      assert.equal(n.rank, i + 1);
      assert.equal(n.id, `L${n.layer}.N${n.index}`);
      const mine = oracle.r.get(n.layer)![n.bestPosition! * oracle.dFF + n.index]!;
      assert.ok(Math.abs(n.r - mine) < 1e-6, `${n.id} at position ${n.bestPosition}: r ${n.r} vs recomputed ${mine}`);
      assert.ok(Math.abs(Math.abs(n.r) - Math.abs(expected[i]!.r)) < 1e-6, `rank ${i + 1}: |r| ${n.r} vs ${expected[i]!.r}`);
      assert.ok(n.pAtPosition === null || (n.pAtPosition >= 0 && n.pAtPosition <= 1));
      // Sidak over the P positions, recomputed here
      const sidak = n.pAtPosition === null ? null : 1 - (1 - n.pAtPosition) ** oracle.positions;
      assert.ok(sidak === null ? n.pCorrected === null : Math.abs(n.pCorrected! - sidak) <= 1e-9 + 1e-6 * sidak, `${n.id}: pCorrected ${n.pCorrected} vs ${sidak}`);
    });
  });

  it("neuron prints r at every position, samples the extremal activations, both as recomputed", async () => {
    const top = ranked(oracle)[0]!;
    const id = `L${top.layer}.N${top.index}`;
    const one = json<{ metrics: { metric: string; correlations: { position: number; r: number | null; samples: number }[] }[] }>(
      await cli(["neuron", "--run", runId, "--id", id, "--metric", "label", "--json", ...conn]),
      "neuron",
    );
    const corr = one.metrics[0]!.correlations;
    assert.equal(corr.length, oracle.positions);
    for (const c of corr) {
      const mine = oracle.r.get(top.layer)![c.position * oracle.dFF + top.index]!;
      assert.ok(Math.abs((c.r ?? Number.NaN) - mine) < 1e-6, `position ${c.position}: ${c.r} vs ${mine}`);
      assert.equal(c.samples, VAL_ROWS);
    }

    const k = 3;
    const samples = json<{ samples: { rank: number; sampleId: string; activation: number; text: string | null }[] }>(
      await cli(["samples", "--run", runId, "--id", id, "--position", String(top.position), "--k", String(k), "--json", ...conn]),
      "samples",
    );
    const a = oracle.acts.get(top.layer)!;
    const cols = oracle.positions * oracle.dFF;
    const atPosition = oracle.sampleIds.map((sid, s) => ({ sid, v: a[s * cols + top.position * oracle.dFF + top.index]! })).sort((x, y) => y.v - x.v);
    assert.deepEqual(samples.samples.map((s) => s.rank), [1, 2, 3]);
    samples.samples.forEach((s, i) => {
      assert.ok(Math.abs(s.activation - atPosition[i]!.v) < 1e-6, `sample ${i}: ${s.activation} vs ${atPosition[i]!.v}`);
      assert.match(s.text ?? "", / answer$/, "the rendered instruction comes with the sample");
    });
  });

  it("metric add of a planted metric (one neuron's activation) ranks that neuron first with r = 1", async () => {
    const planted = ranked(oracle)[7]!;
    const a = oracle.acts.get(planted.layer)!;
    const cols = oracle.positions * oracle.dFF;
    const pairs = oracle.sampleIds.map((sampleId, s) => ({ sampleId, value: a[s * cols + planted.position * oracle.dFF + planted.index]! }));
    const file = join(dir, "planted.json");
    writeFileSync(file, JSON.stringify(pairs));
    json(await cli(["metric", "add", "--run", runId, "--name", "planted", "--file", file, "--json", ...conn]), "metric add");
    const out = json<{ neurons: NeuronRow[] }>(await cli(["neurons", "--run", runId, "--metric", "planted", "--top", "1", "--json", ...conn]), "neurons planted");
    const first = out.neurons[0]!;
    assert.deepEqual([first.layer, first.index, first.bestPosition], [planted.layer, planted.index, planted.position]);
    assert.ok(Math.abs(first.r - 1) < 1e-6, `planted r = ${first.r}`);
  });

  it("export writes hive-partitioned Parquet at --parquet", async () => {
    const target = join(dir, "exported");
    json(await cli(["export", "--run", runId, "--parquet", target, "--json", ...conn]), "export");
    const layerDirs = readdirSync(join(target, "activations", `run=${runId}`)).sort();
    assert.deepEqual(layerDirs, oracle.layers.map((l) => `layer=${l}`));
    assert.ok(readdirSync(join(target, "activations", `run=${runId}`, layerDirs[0]!)).some((f) => f.endsWith(".parquet")));
  });

  it("over --server the same commands print the same JSON, and the typed client example works", async () => {
    const embedded = await cli(["neurons", "--run", runId, "--metric", "label", "--top", "5", "--json", ...conn]);
    const server = await startServe(["--data-dir", dir, "--db", db]);
    try {
      const remote = await cli(["neurons", "--run", runId, "--metric", "label", "--top", "5", "--json", "--server", server.url]);
      assert.deepEqual(json(remote, "remote neurons"), json(embedded, "embedded neurons"));
      const example = await runNode(join(ROOT, "dist/clients/client/examples/top-neurons.js"), [runId, "label", "3"], { env: { SKILLSCOPE_URL: server.url } });
      assert.equal(example.code, 0, example.stderr);
      const top = (JSON.parse(embedded.stdout) as { neurons: NeuronRow[] }).neurons[0]!;
      assert.match(example.stdout.split("\n")[0]!, new RegExp(`^\\s*1\\s+${top.id.replace(".", "\\.")}\\s+r=${top.r.toFixed(4)}`));
    } finally {
      server.child.kill("SIGTERM");
      assert.deepEqual(await server.exit, { code: 0, signal: null });
    }
    assert.ok(existsSync(db));
  });
});
