import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { DEMO_DIR, startDemo, type DemoServer } from "../../server/demo.js";
import { neuronId } from "../../gpu-runner/neuron-id.js";
import { normalizedWords } from "../../server/metrics/normalize.js";

/**
 * The paper's three experiments on the committed demo model, in a short seeded configuration (one
 * demo start, its three runs shared by every assertion). Skill neurons must be sparse (few beyond
 * the permutation null's family-wise chance level, the top one clearly beyond), and each experiment
 * has a check only the neuron can pass, not the metric alone: within-label separation for NLI,
 * ablation against random neurons for arithmetic and sentiment.
 */
let dir: string;
let demo: DemoServer;
let token: string;

/** Share of a run's neurons allowed beyond the family-wise chance level: the paper's "sparse". */
const MAX_SHARE_BEYOND_CHANCE = 0.05;
/** "Clearly beyond": the top neuron's |r| exceeds the chance level by this factor. */
const CLEAR_MARGIN = 1.25;
/**
 * Neurons ablated per causal check, as a share of the model's FFN neurons (368 of the demo model's
 * 18432), and random control sets drawn for it. A share, not a count: a skill's code spreads over
 * more neurons as the model widens. On the committed model the top 1% moves one sentiment answer of
 * 300 and the top 2% seventeen, random sets none (README, the sentiment experiment's table).
 */
const ABLATED_SHARE = 0.02;
const DRAWS = 8;

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
const ranked = async (run: string, metric: string, first: number, minAbsR?: number): Promise<{ nodes: Ranked[]; totalCount: number }> => {
  const { neurons } = await gql<{ neurons: { totalCount: number; edges: { node: Ranked }[] } }>(
    `query ($r: ID!, $m: String!, $f: Int!, $min: Float) { neurons(runId: $r, metric: $m, first: $f, minAbsR: $min) { totalCount edges { node { id layer index r bestPosition } } } }`,
    { r: run, m: metric, f: first, min: minAbsR },
  );
  return { nodes: neurons.edges.map((e) => e.node), totalCount: neurons.totalCount };
};

/** The layers a run recorded and their FFN width. */
async function runShape(run: string): Promise<{ layers: number[]; dFF: number }> {
  return (await gql<{ run: { layers: number[]; dFF: number } }>(`query ($r: ID!) { run(id: $r) { layers dFF } }`, { r: run })).run;
}

/** The rows of one of the demo's task files. */
async function taskRows<T>(file: string): Promise<T[]> {
  return (await readFile(join(DEMO_DIR, "tasks", file), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as T);
}

/** FFN neurons the run recorded: its layers times d_ff. */
async function recordedNeurons(run: string): Promise<number> {
  const { layers, dFF } = await runShape(run);
  return layers.length * dFF;
}

/** The permutation null's family-wise chance level for `metric`: the 99.9th percentile of the max |r|. */
const chanceOf = async (run: string, metric: string): Promise<number> => (await gql<{ significance: { maxAbsR999: number } }>(
  `query ($r: ID!, $m: String!) { significance(runId: $r, metric: $m, permutations: 40) { maxAbsR999 } }`, { r: run, m: metric })).significance.maxAbsR999;

interface Sparsity { total: number; ranked: number; beyond: number; chance: number; top: Ranked }
/**
 * How many of the run's neurons (max |r| over positions) lie beyond the permutation null's
 * family-wise 99.9% level. `total` counts every recorded neuron; `ranked` those with a defined r
 * (a ReLU neuron that is 0 on every validation sample has none: it is stored as NULL, never ranked).
 */
async function sparsity(run: string, metric: string): Promise<Sparsity> {
  const chance = await chanceOf(run, metric);
  const all = await ranked(run, metric, 1);
  const beyond = await ranked(run, metric, 1, chance);
  const total = await recordedNeurons(run);
  assert.ok(all.totalCount > 0 && all.totalCount <= total, `${all.totalCount} ranked of ${total} recorded neurons`);
  assert.ok(Number.isFinite(all.nodes[0]!.r), `top r ${all.nodes[0]!.r}`);
  return { total, ranked: all.totalCount, beyond: beyond.totalCount, chance, top: all.nodes[0]! };
}

function assertSparse(s: Sparsity, what: string): void {
  const line = `${what}: ${s.beyond} of ${s.total} neurons (${s.ranked} vary, ${(100 * s.beyond / s.ranked).toFixed(1)}% of those) beyond chance |r| ${s.chance.toFixed(3)}; top ${s.top.id} r ${s.top.r.toFixed(3)}`;
  console.log(line);
  assert.ok(s.beyond <= MAX_SHARE_BEYOND_CHANCE * s.total, line);
  assert.ok(Math.abs(s.top.r) > CLEAR_MARGIN * s.chance, line);
}

type Sample = { activation: number; sampleId: string; metrics: { name: string; value: number | null }[] };
/** Every validation sample's activation of neuron `n` at its best position, with the named metrics. */
async function activations(run: string, n: Ranked, names: string[], direction = "LOW"): Promise<(Record<string, number> & { act: number; sampleId: string })[]> {
  const { neuron } = await gql<{ neuron: { extremalSamples: Sample[] } }>(
    `query ($r: ID!, $l: Int!, $i: Int!, $p: Int, $names: [String!], $d: Direction!) { neuron(runId: $r, layer: $l, index: $i) {
      extremalSamples(direction: $d, k: 1000, position: $p) { activation sampleId metrics(names: $names) { name value } } } }`,
    { r: run, l: n.layer, i: n.index, p: n.bestPosition, names, d: direction },
  );
  return neuron.extremalSamples.map((s) => ({ act: s.activation, sampleId: s.sampleId, ...Object.fromEntries(s.metrics.map((m) => [m.name, m.value ?? Number.NaN])) }) as never);
}

interface Condition { name: string; accuracy: number; samples: { sampleId: string; prediction: string; correct: boolean }[] }
interface Ablation { baseline: Condition; ablated: Condition; random: Condition[]; neurons: { id: string }[] }
const CONDITION = `name accuracy samples(first: 1000) { sampleId prediction correct }`;
/** Zero-ablates the metric's top ABLATED_SHARE of neurons and DRAWS random sets of the same layers (the existing causal check). */
async function ablate(run: string, metric: string): Promise<Ablation> {
  const k = Math.round(ABLATED_SHARE * (await recordedNeurons(run)));
  return (await gql<{ ablateNeurons: Ablation }>(
    `mutation ($r: ID!, $m: String!, $k: Int!, $d: Int!) { ablateNeurons(runId: $r, metric: $m, k: $k, randomDraws: $d, mode: ZERO, seed: 1) {
      neurons { id } baseline { ${CONDITION} } ablated { ${CONDITION} } random { ${CONDITION} } } }`,
    { r: run, m: metric, k, d: DRAWS },
  )).ablateNeurons;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => { const m = mean(xs); return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1); };
/** Cohen's d of ys over xs (pooled sd). */
const cohenD = (xs: number[], ys: number[]) => (mean(ys) - mean(xs)) / Math.sqrt((variance(xs) + variance(ys)) / 2);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "skillscope-demo-"));
  demo = await startDemo({ dataDir: dir, port: 0, dashboardDir: join(dir, "none"), runOptions: { promptLength: 20, initText: "_", steps: 40, batchSize: 16, evalEvery: 20, seed: 1 } });
  token = (await readFile(join(dir, "token"), "utf8")).trim();
  for (let i = 0; i < 6000; i++) {
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

/** Sparsity, the paper's central observation (its Figures 6 and 7): the committed demo model meets it in all three. */
for (const [task, metric] of [["sentiment", "label"], ["nli-hans", "lexical_overlap"], ["arith", "loss"]] as const) {
  it(`${task}, metric = ${metric}: at most 5% of neurons beyond the family-wise chance level, the top one clearly beyond`, async () => {
    assertSparse(await sparsity(demo.runs[task]!, metric), `${task} ${metric}`);
  });
}

const topOf = async (run: string, metric: string): Promise<Ranked> => (await ranked(run, metric, 1)).nodes[0]!;

it("1. sentiment, metric = label: the top neuron is beyond chance and separates the classes", async () => {
  const run = demo.runs.sentiment!;
  const s = { top: await topOf(run, "label") };
  assert.ok(Math.abs(s.top.r) > CLEAR_MARGIN * (await chanceOf(run, "label")), `${s.top.id} r ${s.top.r}`);
  const all = await activations(run, s.top, ["label"]);
  const [neg, pos] = [all.filter((x) => x.label === 0).map((x) => x.act), all.filter((x) => x.label === 1).map((x) => x.act)];
  assert.ok(Math.sign(s.top.r) * cohenD(neg, pos) > 1, `label means ${mean(neg)} vs ${mean(pos)}`);
});

it("1b. sentiment: ablating the top label neurons moves accuracy more than random neurons of the same layers", async () => {
  const run = demo.runs.sentiment!;
  const a = await ablate(run, "label");
  const delta = (c: Condition) => c.accuracy - a.baseline.accuracy;
  const randomDeltas = a.random.map(delta);
  console.log(`sentiment ablation of the top ${a.neurons.length} label neurons: accuracy ${a.baseline.accuracy.toFixed(3)} -> ${a.ablated.accuracy.toFixed(3)}; random sets ${randomDeltas.map((d) => d.toFixed(3)).join(" ")}`);
  assert.ok(Math.abs(delta(a.ablated)) > Math.max(...randomDeltas.map(Math.abs)), `ablated ${delta(a.ablated)} vs random ${randomDeltas}`);
});

it("2. NLI, metric = lexical overlap: the top overlap neurons separate overlap within each label, in a split where overlap and label are correlated", async () => {
  const run = demo.runs["nli-hans"]!;
  const { nodes } = await ranked(run, "lexical_overlap", 3);
  for (const [rank, n] of nodes.entries()) {
    const all = await activations(run, n, ["lexical_overlap", "label"]);
    if (rank === 0) {
      // The val split is a real test: overlap and label go together (phi about 0.5), so a label
      // neuron correlates with overlap too; only within a label does overlap stand alone.
      const phi = Math.abs(pearson(all.map((x) => x.lexical_overlap), all.map((x) => x.label)));
      assert.ok(phi > 0.3, `overlap/label phi in val ${phi}`);
    }
    for (const label of [0, 1]) {
      const cell = all.filter((x) => x.label === label);
      const d = Math.sign(n.r) * cohenD(cell.filter((x) => x.lexical_overlap === 0).map((x) => x.act), cell.filter((x) => x.lexical_overlap === 1).map((x) => x.act));
      console.log(`NLI top-${rank + 1} overlap neuron ${n.id} (r ${n.r.toFixed(3)}): within label ${label}, Cohen's d overlap vs none ${d.toFixed(2)}`);
      assert.ok(d > 1, `${n.id} within label ${label}: d = ${d}`);
    }
  }
});

/**
 * What the top five overlap neurons are, explained offline on held-out samples: an input feature that
 * sets the overlap (the overlap itself, or a split of the HANS constructions, which differ in how much
 * of the hypothesis the premise holds), never the label. On the committed model a construction split
 * explains each of them a little better than overlap (held-out r about 0.86 vs 0.80; README); the
 * split is checked to hold both labels on each side, so it is not the label under another name.
 */
it("2b. NLI, explained offline: the overlap neurons are best explained by overlap or the HANS construction, not the label", async () => {
  type Explained = { neuronId: string; rank: number; featureId: string; heldOutR: number; heldOutAuc: number; heldOutSamples: number };
  const { explainNeurons } = await gql<{ explainNeurons: Explained[] }>(
    `mutation ($r: ID!) { explainNeurons(runId: $r, metric: "lexical_overlap", k: 5, top: 3) { neuronId rank featureId heldOutR heldOutAuc heldOutSamples } }`,
    { r: demo.runs["nli-hans"]! },
  );
  const best = explainNeurons.filter((e) => e.rank === 1);
  console.log(`NLI overlap neurons, best held-out explanations: ${explainNeurons.map((e) => `${e.neuronId} #${e.rank} ${e.featureId} r ${e.heldOutR.toFixed(2)}`).join("; ")}`);
  assert.equal(best.length, 5);
  const rows = (await taskRows<{ construction: string; label: string; split: string }>("nli-hans.jsonl")).filter((r) => r.split === "val");
  const overlap = (id: string) => /^metric:(lexical_overlap|subsequence)$|^overlap:/.test(id);
  /** A construction split whose two sides each hold both labels (the word-set feature's own word match). */
  const constructionSplit = (id: string) => {
    const m = /^word(?:-set)?:construction:(.+)$/.exec(id);
    if (!m) return false;
    const words = new Set(m[1]!.split("|"));
    const side = (r: { construction: string }) => normalizedWords(r.construction).some((w) => words.has(w));
    return [true, false].every((inSet) => new Set(rows.filter((r) => side(r) === inSet).map((r) => r.label)).size === 2);
  };
  for (const e of best) {
    assert.ok(overlap(e.featureId) || constructionSplit(e.featureId), `${e.neuronId}: best explained by ${e.featureId}`);
    assert.ok(Math.abs(e.heldOutR) > 0.5 && e.heldOutAuc > 0.75 && e.heldOutSamples === 200, JSON.stringify(e));
  }
  // Overlap itself is among the explanations that fit held-out samples, at |r| > 0.5.
  assert.ok(explainNeurons.some((e) => overlap(e.featureId) && Math.abs(e.heldOutR) > 0.5), explainNeurons.map((e) => e.featureId).join(", "));
});

/**
 * Every digit of a product is predicted at an answer position (a number is "▁" then its digits), so
 * the check holds only because the demo model attends 16 positions back, fewer than the 20 soft
 * tokens: the answer reads the operands through the soft positions. With full attention it read them
 * directly and zeroing all of layers 1-5 at the soft positions moved no digit (README, "What does not
 * come out"); the test prints the whole-layer figures so that route stays visible.
 */
it("3. arithmetic, metric = loss: ablating the top loss neurons changes last-digit accuracy on operands ending in 0 or 5 more than random neurons", async () => {
  const run = demo.runs.arith!;
  const rows = new Map((await taskRows<{ id: string; a: number; b: number; answer: string }>("arith.jsonl")).map((r) => [r.id, r]));
  const easy = (id: string) => { const r = rows.get(id)!; return [0, 5].includes(r.a % 10) || [0, 5].includes(r.b % 10); };
  const lastDigit = (text: string) => /\d(?=\D*$)/.exec(text)?.[0];
  const lastDigitAccuracy = (c: Condition) => {
    const shortcut = c.samples.filter((x) => easy(x.sampleId));
    return mean(shortcut.map((x) => Number(lastDigit(x.prediction) === rows.get(x.sampleId)!.answer.at(-1))));
  };
  const a = await ablate(run, "loss");
  assert.ok(a.baseline.samples.filter((x) => easy(x.sampleId)).length >= 50, "enough shortcut samples");
  const base = lastDigitAccuracy(a.baseline);
  const randomDeltas = a.random.map((c) => lastDigitAccuracy(c) - base);
  const ablated = lastDigitAccuracy(a.ablated) - base;
  console.log(`arithmetic ablation of the top ${a.neurons.length} loss neurons: last-digit accuracy on 0/5 operands ${base.toFixed(3)} -> ${(base + ablated).toFixed(3)}; random sets ${randomDeltas.map((d) => d.toFixed(3)).join(" ")}`);
  // Whether the answer reads the soft positions at all: zero whole layers there, no controls.
  const shape = await runShape(run);
  for (const layers of [shape.layers.slice(1), shape.layers.slice(0, 1)]) {
    const neurons = layers.flatMap((l) => Array.from({ length: shape.dFF }, (_, i) => neuronId(l, i)));
    const { ablateNeurons: w } = await gql<{ ablateNeurons: Ablation & { ablated: { meanKl: number } } }>(
      `mutation ($r: ID!, $n: [ID!]) { ablateNeurons(runId: $r, metric: "loss", neurons: $n, randomDraws: 0, mode: ZERO) { ablated { meanKl ${CONDITION} } } }`,
      { r: run, n: neurons });
    console.log(`zeroing all ${neurons.length} neurons of layer${layers.length > 1 ? "s" : ""} ${layers.join(", ")} at the soft positions: KL ${w.ablated.meanKl.toExponential(1)} nats, last digit on 0/5 operands ${base.toFixed(3)} -> ${lastDigitAccuracy(w.ablated).toFixed(3)}`);
  }
  assert.ok(Math.abs(ablated) > Math.max(...randomDeltas.map(Math.abs)), `ablated ${ablated} vs random ${randomDeltas}`);
});

function pearson(x: number[], y: number[]): number {
  const [mx, my] = [mean(x), mean(y)];
  let sxy = 0, sxx = 0, syy = 0;
  x.forEach((xi, i) => { sxy += (xi - mx) * (y[i] - my); sxx += (xi - mx) ** 2; syy += (y[i] - my) ** 2; });
  return sxy / Math.sqrt(sxx * syy);
}

/** Every ranked neuron's position-corrected and plain p for `metric`, page by page. */
async function pValues(run: string, metric: string): Promise<{ corrected: number; plain: number }[]> {
  const p: { corrected: number; plain: number }[] = [];
  for (let after: string | null = null; ; ) {
    const { neurons }: { neurons: { edges: { node: { pCorrected: number | null; pAtPosition: number | null } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gql(
      `query ($r: ID!, $m: String!, $a: String) { neurons(runId: $r, metric: $m, first: 1000, after: $a) { edges { node { pCorrected pAtPosition } } pageInfo { hasNextPage endCursor } } }`,
      { r: run, m: metric, a: after },
    );
    for (const { node } of neurons.edges) if (node.pCorrected !== null) p.push({ corrected: node.pCorrected, plain: node.pAtPosition! });
    if (!neurons.pageInfo.hasNextPage) return p;
    after = neurons.pageInfo.endCursor;
  }
}

/**
 * Calibration of the position-corrected p-value: under a metric the model cannot know, about 5% of
 * neurons fall below 0.05. Neurons share their variation, so one noise draw's share swings by a few
 * points either way; the mean over NOISE_DRAWS draws is what the test bounds.
 */
const NOISE_DRAWS = 5;

it(`Gaussian noise metrics added after the fact: on average over ${NOISE_DRAWS} draws at most 6% of each run's neurons at position-corrected p < 0.05`, async () => {
  let seed = 12345;
  const gaussian = (): number => {
    // Box-Muller over a small LCG: independent of the server's own generator
    const u = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
    return Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  };
  for (const [task, run] of Object.entries(demo.runs)) {
    const { neuron } = await gql<{ neuron: { extremalSamples: { sampleId: string }[] } }>(
      `query ($r: ID!) { neuron(runId: $r, layer: 0, index: 0) { extremalSamples(k: 1000, maxOverPositions: true) { sampleId } } }`, { r: run },
    );
    const shares: number[] = [];
    for (let draw = 0; draw < NOISE_DRAWS; draw++) {
      const metric = `noise${draw}`;
      const values = neuron.extremalSamples.map((s) => ({ sampleId: s.sampleId, value: gaussian() }));
      await gql(`mutation ($r: ID!, $n: String!, $v: [SampleValueInput!]!) { addMetric(runId: $r, name: $n, values: $v) { name } }`, { r: run, n: metric, v: values });
      const p = await pValues(run, metric);
      assert.ok(p.length > 100);
      shares.push(p.filter((x) => x.corrected < 0.05).length / p.length);
      if (draw === 0) console.log(`demo ${task}: noise metric, ${p.length} neurons: uncorrected p < 0.05 for ${(100 * p.filter((x) => x.plain < 0.05).length / p.length).toFixed(1)}% (first draw)`);
    }
    console.log(`demo ${task}: pCorrected < 0.05 per noise draw ${shares.map((s) => `${(100 * s).toFixed(1)}%`).join(" ")}, mean ${(100 * mean(shares)).toFixed(1)}%`);
    assert.ok(mean(shares) <= 0.06, `${task}: mean share ${mean(shares)} of neurons at pCorrected < 0.05`);
  }
});
