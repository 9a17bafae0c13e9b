import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { startDemo, type DemoServer } from "../../server/demo.js";

/**
 * The paper's three experiments on the committed demo model, in a short seeded configuration: each
 * heuristic planted by the data is recovered, above the permutation null.
 */
let dir: string;
let demo: DemoServer;
let token: string;

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${demo.server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!;
}

interface Ranked { id: string; layer: number; index: number; r: number; bestPosition: number }
const top = async (run: string, metric: string): Promise<Ranked> =>
  (await gql<{ neurons: { edges: { node: Ranked }[] } }>(
    `query ($r: ID!, $m: String!) { neurons(runId: $r, metric: $m, first: 1) { edges { node { id layer index r bestPosition } } } }`, { r: run, m: metric },
  )).neurons.edges[0]!.node;
const chance = async (run: string, metric: string): Promise<number> =>
  (await gql<{ significance: { maxAbsR999: number } }>(`query ($r: ID!, $m: String!) { significance(runId: $r, metric: $m, permutations: 40) { maxAbsR999 } }`, { r: run, m: metric })).significance.maxAbsR999;

type Sample = { activation: number; text: string; metrics: { name: string; value: number | null }[] };
async function samples(run: string, n: Ranked, names: string[], direction = "LOW", k = 300): Promise<(Record<string, number> & { act: number; text: string })[]> {
  const { neuron } = await gql<{ neuron: { extremalSamples: Sample[] } }>(
    `query ($r: ID!, $l: Int!, $i: Int!, $p: Int, $k: Int!, $names: [String!], $d: Direction!) { neuron(runId: $r, layer: $l, index: $i) {
      extremalSamples(direction: $d, k: $k, position: $p) { activation text metrics(names: $names) { name value } } } }`,
    { r: run, l: n.layer, i: n.index, p: n.bestPosition, k, names, d: direction },
  );
  return neuron.extremalSamples.map((s) => ({ act: s.activation, text: s.text, ...Object.fromEntries(s.metrics.map((m) => [m.name, m.value ?? Number.NaN])) }) as never);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-demo-"));
  demo = await startDemo({ dataDir: dir, port: 0, dashboardDir: join(dir, "none"), runOptions: { promptLength: 20, initText: "_", steps: 40, batchSize: 16, evalEvery: 20, seed: 1 } });
  token = (await readFile(join(dir, "token"), "utf8")).trim();
  for (let i = 0; i < 3000; i++) {
    const { runs } = await gql<{ runs: { edges: { node: { status: string; error: string | null } }[] } }>(`{ runs(first: 10) { edges { node { status error } } } }`);
    const states = runs.edges.map((e) => e.node);
    assert.ok(!states.some((s) => s.status === "FAILED"), JSON.stringify(states));
    if (states.length === 3 && states.every((s) => s.status === "DONE")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail("the demo runs did not finish");
});

after(async () => {
  await demo?.server.close();
  await rm(dir, { recursive: true, force: true });
});

it("1. sentiment, metric = label: the top neurons separate the classes", async () => {
  const run = demo.runs.sentiment!;
  const n = await top(run, "label");
  assert.ok(Math.abs(n.r) > 0.9, `${n.id} r = ${n.r}`);
  assert.ok(Math.abs(n.r) > (await chance(run, "label")));
  const all = await samples(run, n, ["label"]);
  const [neg, pos] = [all.filter((s) => s.label === 0).map((s) => s.act), all.filter((s) => s.label === 1).map((s) => s.act)];
  // the classes barely overlap along this one neuron
  const separated = Math.sign(n.r) * (Math.min(...pos) - Math.max(...neg)) > 0 || Math.abs(mean(pos) - mean(neg)) > 3 * Math.sqrt((variance(pos) + variance(neg)) / 2);
  assert.ok(separated, `label means ${mean(neg)} vs ${mean(pos)}`);
});

it("2. HANS-style NLI, metric = lexical overlap: its neurons split overlap from non-overlap, not the label", async () => {
  const run = demo.runs["nli-hans"]!;
  const n = await top(run, "lexical_overlap");
  assert.ok(Math.abs(n.r) > 0.6 && Math.abs(n.r) > (await chance(run, "lexical_overlap")), `${n.id} r = ${n.r}`);
  const all = await samples(run, n, ["lexical_overlap", "label"]);
  const overlap = all.filter((s) => s.lexical_overlap === 1).map((s) => s.act);
  const none = all.filter((s) => s.lexical_overlap === 0).map((s) => s.act);
  const d = Math.abs(mean(overlap) - mean(none)) / Math.sqrt((variance(overlap) + variance(none)) / 2);
  assert.ok(d > 1.5, `Cohen's d between overlap and non-overlap = ${d}`);
  // in the HANS validation set overlap says nothing about the label, and this neuron follows overlap
  assert.ok(Math.abs(pearson(all.map((s) => s.act), all.map((s) => s.label))) < Math.abs(n.r) / 2);
});

it("2b. NLI, explained offline: an overlap neuron's best held-out explanation is an overlap feature, not the label", async () => {
  type Explained = { neuronId: string; rank: number; featureId: string; heldOutR: number; heldOutAuc: number; heldOutSamples: number };
  const { explainNeurons } = await gql<{ explainNeurons: Explained[] }>(
    `mutation ($r: ID!) { explainNeurons(runId: $r, metric: "lexical_overlap", k: 5, top: 3) { neuronId rank featureId heldOutR heldOutAuc heldOutSamples } }`,
    { r: demo.runs["nli-hans"]! },
  );
  const best = explainNeurons.filter((e) => e.rank === 1);
  assert.equal(best.length, 5);
  const overlap = (id: string) => /^metric:(lexical_overlap|subsequence)$|^overlap:/.test(id);
  const found = best.find((e) => overlap(e.featureId));
  assert.ok(found, `no overlap neuron is best explained by an overlap feature: ${best.map((e) => `${e.neuronId} ${e.featureId}`).join(", ")}`);
  assert.ok(Math.abs(found.heldOutR) > 0.5 && found.heldOutAuc > 0.75 && found.heldOutSamples === 200, JSON.stringify(found));
  assert.ok(!best.some((e) => e.featureId.startsWith("metric:label")), best.map((e) => e.featureId).join(", "));
});

it("3. arithmetic, metric = loss: low-activation samples expose the last-digit shortcut", async () => {
  const run = demo.runs.arith!;
  const n = await top(run, "loss");
  assert.ok(Math.abs(n.r) > (await chance(run, "loss")), `${n.id} r = ${n.r}`);
  // the low-loss end of the neuron: low activations when r > 0, high ones when r < 0
  const all = await samples(run, n, ["a_last_digit", "b_last_digit", "last_digit_shortcut"], n.r > 0 ? "LOW" : "HIGH");
  const easy = (s: Record<string, number>) => [0, 5].includes(s.a_last_digit) || [0, 5].includes(s.b_last_digit);
  const share = (xs: typeof all) => xs.filter(easy).length / xs.length;
  assert.ok(share(all.slice(0, 20)) > share(all) + 0.3, `operands ending in 0 or 5: ${share(all.slice(0, 20))} of the 20 extremal samples vs ${share(all)} overall`);
  // counterexamples: where the shortcut gives no easy digit the model's last digit fails
  const acc = (xs: typeof all) => mean(xs.map((s) => s.last_digit_shortcut));
  assert.ok(acc(all.filter(easy)) > acc(all.filter((s) => !easy(s))) + 0.3, `last digit right: ${acc(all.filter(easy))} with the shortcut, ${acc(all.filter((s) => !easy(s)))} without`);
});

function variance(xs: number[]): number {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
}

function pearson(x: number[], y: number[]): number {
  const [mx, my] = [mean(x), mean(y)];
  let sxy = 0, sxx = 0, syy = 0;
  x.forEach((xi, i) => { sxy += (xi - mx) * (y[i] - my); sxx += (xi - mx) ** 2; syy += (y[i] - my) ** 2; });
  return sxy / Math.sqrt(sxx * syy);
}
