/**
 * The built CLI's "beyond the paper" commands on a real run of the planted checkpoint (L0.N7 is
 * wired to the colour count) and on hand-made score tables: each command's --json against values
 * known by construction or recomputed from the store, human output, typed refusals, and the same
 * ablation over --server with the token.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Store } from "../../../server/store/store.js";
import { trainPlantedRun } from "../dashboard/trained-run.js";
import { cli, startServe } from "./run-cli.js";

let dir: string;
let conn: string[];
let runId: string;
const scored = { a: "", b: "" };

// max_abs_r scores of metric "m": [layer 0 neurons 0..5, layer 1 neurons 0..5]
const A = [[0.9, 0.1, -0.8, 0.05, 0.3, 0.0], [0.2, -0.7, 0.15, 0.02, 0.01, 0.6]];
const B = [[0.85, 0.2, -0.1, 0.05, 0.75, 0.0], [0.3, -0.8, 0.15, 0.02, 0.01, 0.4]];

function json<T>(r: { code: number; stdout: string; stderr: string }): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skillscope-cli-analysis-"));
  const db = join(dir, "cli.duckdb");
  conn = ["--data-dir", dir, "--db", db];
  const store = await Store.open(db);
  try {
    runId = String(await trainPlantedRun(store));
    const run = await store.getRun(Number(runId));
    const colors = await store.readMetricAligned(Number(runId), "colors");
    await store.writeMetric(Number(runId), { name: "many_colors", kind: "heuristic", sampleId: colors.sampleId, value: colors.value.map((c) => (c >= 3 ? 1 : 0)) });
    const table = async (t: number[][]) => {
      const id = await store.createRun({ modelId: run.modelId, taskId: run.taskId, config: { options: {} } });
      await store.writeScores(id, t.map((r, layer) => ({
        metric: "m", agg: "max_abs_r" as const, layer, position: Int32Array.from(r, (_, i) => i % 2), neuron: Int32Array.from(r, (_, i) => i), r: Float64Array.from(r),
      })));
      await store.writeMetric(id, { name: "m", kind: "column", sampleId: ["s0"], value: Float64Array.of(1) });
      // finished, so no run manager starts them as queued runs
      await store.setRunStatus(id, "scoring");
      await store.setRunStatus(id, "done");
      return String(id);
    };
    scored.a = await table(A);
    scored.b = await table(B);
  } finally {
    await store.close();
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

interface AblateJson {
  neurons: { id: string }[];
  random: unknown[];
  sampleCount: number;
  deltas: { kl: { pRandom: number; effect: { low: number } }; loss: { ablated: { estimate: number } } };
}

describe("skillscope ablate / steer", () => {
  let embedded: AblateJson;

  it("ablate --json: the planted neuron is the top colour neuron and its ablation beats every random set", async () => {
    embedded = json<AblateJson>(await cli(["ablate", "--run", runId, "--metric", "colors", "--k", "1", "--draws", "5", "--seed", "2", "--json", ...conn]));
    assert.deepEqual(embedded.neurons.map((n) => n.id), ["L0.N7"]);
    assert.equal(embedded.random.length, 5);
    assert.equal(embedded.sampleCount, 40);
    assert.equal(embedded.deltas.kl.pRandom, 1 / 6);
    assert.ok(embedded.deltas.kl.effect.low > 0);
  });

  it("ablate over --server needs the token and answers the same JSON (seeded)", async () => {
    const server = await startServe(conn);
    try {
      const token = readFileSync(join(dir, "token"), "utf8").trim();
      const args = ["ablate", "--run", runId, "--metric", "colors", "--k", "1", "--draws", "5", "--seed", "2", "--json", "--server", server.url];
      assert.deepEqual(json<AblateJson>(await cli([...args, "--token", token])), embedded);
      const refused = await cli([...args, "--token", "wrong"]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^skillscope ablate: .*bearer token.*\[UNAUTHENTICATED\]\n$/);
    } finally {
      server.child.kill("SIGTERM");
      await server.exit;
    }
  });

  it("ablate prints a table of every measure; bad flags are refused", async () => {
    const r = await cli(["ablate", "--run", runId, "--metric", "colors", "--k", "2", "--mode", "mean", "--draws", "3", ...conn]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^run \d+, metric colors: mean ablation at the soft positions of L0\.N7 \(r [+-]0\.\d{4}\), L\d+\.N\d+ \(r /);
    for (const measure of ["accuracy", "loss", "gold prob", "KL"]) assert.match(r.stdout, new RegExp(`^${measure} +[-\\d]`, "m"));
    const badMode = await cli(["ablate", "--run", runId, "--metric", "colors", "--mode", "bogus", ...conn]);
    assert.equal(badMode.code, 1);
    assert.match(badMode.stderr, /expected one of zero, mean, noise/);
    const unknown = await cli(["ablate", "--run", runId, "--metric", "nope", ...conn]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /has no metric "nope".*\[NOT_FOUND\]/);
  });

  it("ablate --neurons: ids and ranges are the ablated set; a long set prints per-layer counts; malformed lists are refused", async () => {
    const listed = json<AblateJson>(await cli(["ablate", "--run", runId, "--metric", "colors", "--neurons", "L0.N7,L0.N2-4", "--draws", "0", "--json", ...conn]));
    assert.deepEqual(listed.neurons.map((n) => n.id), ["L0.N7", "L0.N2", "L0.N3", "L0.N4"]);
    const r = await cli(["ablate", "--run", runId, "--metric", "colors", "--neurons", "L0.N0-24", "--positions", "all", "--draws", "0", ...conn]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^run \d+, metric colors: zero ablation at every position of 25 neurons \(layer 0: 25\)$/m);
    for (const bad of ["L0.N5-2", "L0.7", "L0.N1,,L0.N2"]) {
      const refused = await cli(["ablate", "--run", runId, "--metric", "colors", "--neurons", bad, ...conn]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /is neither a neuron id nor a range; write L3\.N17 or L3\.N0-1023/);
    }
  });

  it("steer: factor 1 reproduces the baseline; malformed ids are refused before connecting", async () => {
    const s = json<{ neuronId: string; baseline: { meanLoss: number }; factors: { factor: number; changed: number; meanLoss: number; meanKl: number }[] }>(
      await cli(["steer", "--run", runId, "--id", "L0.N7", "--factors", "-2,1", "--json", ...conn]),
    );
    assert.equal(s.neuronId, "L0.N7");
    assert.deepEqual(s.factors.map((f) => f.factor), [-2, 1]);
    assert.equal(s.factors[1]!.changed, 0);
    assert.equal(s.factors[1]!.meanLoss, s.baseline.meanLoss);
    assert.ok(s.factors[0]!.meanKl > 0);
    const bad = await cli(["steer", "--run", runId, "--id", "L0N7", ...conn]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a neuron id/);
    const badFactors = await cli(["steer", "--run", runId, "--id", "L0.N7", "--factors", "1,x", ...conn]);
    assert.equal(badFactors.code, 1);
    assert.match(badFactors.stderr, /comma-separated numbers/);
  });
});

describe("skillscope compare / stability / counterexamples / scores", () => {
  it("compare and stability on hand-made score tables (hand-computed)", async () => {
    const c = json<{ shared: { id: string; r: number[] }[]; layers: { layer: number; ks: number[] }[] }>(
      await cli(["compare", "--runs", `${scored.a},${scored.b}`, "--metric", "m", "--k", "3", "--json", ...conn]),
    );
    assert.deepEqual(c.shared, [{ id: "L0.N0", r: [0.9, 0.85] }, { id: "L1.N1", r: [-0.7, -0.8] }]);
    assert.deepEqual(c.layers.map((l) => l.layer), [0, 1]);
    const s = json<{ metrics: { metric: string; meanJaccard: number; pairs: { spearman: number }[]; stable: { id: string }[] }[] }>(
      await cli(["stability", "--runs", `${scored.a},${scored.b}`, "--k", "3", "--json", ...conn]),
    );
    assert.equal(s.metrics.length, 1);
    assert.equal(s.metrics[0]!.meanJaccard, 0.5);
    assert.ok(Math.abs(s.metrics[0]!.pairs[0]!.spearman - 0.4) < 1e-12);
    assert.deepEqual(s.metrics[0]!.stable.map((n) => n.id), ["L0.N0", "L1.N1"]);
    const human = await cli(["stability", "--runs", `${scored.a},${scored.b}`, "--k", "3", ...conn]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^m +0\.500 +0\.400 +2 +L0\.N0 L1\.N1$/m);
    const one = await cli(["compare", "--runs", scored.a, "--metric", "m", ...conn]);
    assert.equal(one.code, 1);
    assert.match(one.stderr, /at least two comma-separated run ids/);
  });

  it("counterexamples: a number or the verbalizer's answer word give the same subsets", async () => {
    type Report = { label: string; disagree: { count: number; sampleIds: string[] }; agree: { count: number; accuracy: number } };
    const byValue = json<Report>(await cli(["counterexamples", "--run", runId, "--heuristic", "many_colors", "--predicts", "1", "--json", ...conn]));
    const byWord = json<Report>(await cli(["counterexamples", "--run", runId, "--heuristic", "many_colors", "--predicts", "yes", "--json", ...conn]));
    assert.equal(byValue.label, "label");
    assert.equal(byWord.label, "label=1");
    // the label is colors >= 2 on these rows: the detector (colors >= 3) misses 14 positives
    assert.equal(byValue.disagree.count, 14);
    assert.equal(byValue.disagree.count + byValue.agree.count, 40);
    assert.deepEqual(byWord.disagree, byValue.disagree);
    assert.deepEqual(byWord.agree, byValue.agree);
  });

  it("scores: the planted neuron tops every score of layer 0", async () => {
    const a = json<{ samples: number; reading: string; topK: { score: string; neurons: { id: string; position: number | null }[] }[]; overlap: unknown[] }>(
      await cli(["scores", "--run", runId, "--metric", "colors", "--layer", "0", "--k", "3", "--json", ...conn]),
    );
    assert.equal(a.samples, 40);
    assert.equal(a.reading, "BEST_POSITION");
    assert.ok(a.topK.every((t) => t.neurons.every((n) => Number.isInteger(n.position))));
    const max = json<{ reading: string; topK: { neurons: { position: number | null }[] }[] }>(
      await cli(["scores", "--run", runId, "--metric", "colors", "--layer", "0", "--k", "3", "--max-over-positions", "--json", ...conn]),
    );
    assert.equal(max.reading, "MAX_OVER_POSITIONS");
    assert.ok(max.topK.every((t) => t.neurons.every((n) => n.position === null)));
    assert.deepEqual(a.topK.map((t) => [t.score, t.neurons[0]!.id]), [["PEARSON", "L0.N7"], ["SPEARMAN", "L0.N7"], ["MUTUAL_INFORMATION", "L0.N7"]]);
    assert.equal(a.overlap.length, 3);
    const human = await cli(["scores", "--run", runId, "--metric", "colors", "--layer", "0", "--k", "3", ...conn]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /read at each neuron at its best position\n/);
    assert.match(human.stdout, /top 3 by pearson\nneuron +position +pearson +spearman +MI \(nats\) +threshold acc\nL0\.N7 +\d+ /);
  });
});
