/**
 * Probe and offline explanations on a real run of the planted checkpoint, whose L0.N7 reads only
 * the share of colour words ("red", "blue", "green") before it (test/fixtures/planted).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ServiceError } from "../../../server/errors.js";
import { explainNeurons, probeRun } from "../../../server/explain/index.js";
import { Store } from "../../../server/store/store.js";
import { PLANTED_DIR as planted, startPlantedRun, type PlantedRun } from "../../fixtures/planted-run.js";

let fixture: PlantedRun;
let store: Store;
let runId: number;

before(async () => {
  fixture = await startPlantedRun("skillscope-explain-");
  ({ store, runId } = fixture);
});

after(() => fixture.close());

test("probe: colour words move L0.N7 up, one more colour word at a time; filler words do not", async () => {
  const texts = ["the cat sat on the mat very good", "the cat sat red the mat very good", "the red sat blue the mat green good", "red blue green red blue green red blue"];
  const res = await probeRun(store, runId, { texts }, { neurons: [{ layer: 0, neuron: 7 }], metric: "colors" });
  assert.equal(res.samples.length, 4);
  assert.equal(res.samples[0]!.instruction, "the cat sat on the mat very good question");
  const atBest = res.samples.map((s) => s.readings[0]!.atBest);
  for (let i = 1; i < 4; i++) assert.ok(atBest[i]! > atBest[i - 1]! + 1e-3, `activation ${atBest.join(", ")} must rise with the colour count`);
  // at every soft position, not only the best one
  for (let p = 0; p < 4; p++) assert.ok(res.samples[3]!.readings[0]!.activations[p]! > res.samples[0]!.readings[0]!.activations[p]!);
  assert.ok(res.samples[0]!.readings[0]!.percentile < 25 && res.samples[3]!.readings[0]!.percentile > 99, `percentiles ${res.samples.map((s) => s.readings[0]!.percentile)}`);
  assert.equal(res.samples[0]!.goldProb, null, "no gold answer given");
  assert.match(res.samples[0]!.prediction, /^ ?(yes|no)$/);

  // a filler word swapped for another leaves the neuron (it reads only the colour channel) where it was
  const swapped = await probeRun(store, runId, { texts: ["the dog sat on the mat very good"] }, { neurons: [{ layer: 0, neuron: 7 }], metric: "colors" });
  assert.ok(Math.abs(swapped.samples[0]!.readings[0]!.atBest - atBest[0]!) < 1e-3);
});

test("probe: validation samples read exactly what extraction stored (1e-6), with the stored outputs", async () => {
  const outputs = await store.readSampleOutputs(runId);
  const ids = outputs.sampleId.slice(0, 24);
  const neurons = [{ layer: 0, neuron: 7 }, { layer: 0, neuron: 3 }, { layer: 0, neuron: 63 }];
  const res = await probeRun(store, runId, { sampleIds: ids }, { neurons, metric: "colors" });
  assert.deepEqual(res.neurons.map((n) => n.neuron), [7, 3, 63]);
  for (const [k, n] of neurons.entries()) {
    const stored = await store.readNeuron(runId, n.layer, n.neuron);
    const rowOf = new Map(Array.from(stored.sampleIdx, (idx, i) => [idx, i]));
    ids.forEach((id, s) => {
      const row = rowOf.get(outputs.sampleIdx[s]!)!;
      for (let p = 0; p < stored.positions; p++) {
        const want = stored.data[row * stored.positions + p]!;
        const got = res.samples[s]!.readings[k]!.activations[p]!;
        assert.ok(Math.abs(got - want) <= 1e-6, `${id} L0.N${n.neuron} position ${p}: probe ${got} vs stored ${want}`);
      }
    });
  }
  res.samples.forEach((s, i) => {
    assert.ok(Math.abs(s.goldProb! - outputs.goldProb[i]!) < 1e-6);
    assert.equal(s.prediction, outputs.prediction[i]);
    assert.equal(s.correct, outputs.correct[i] === 1);
  });
  // the default neurons are the metric's top-k, L0.N7 first
  const top = await probeRun(store, runId, { sampleIds: ids.slice(0, 1) }, { metric: "colors", k: 3 });
  assert.equal(top.neurons.length, 3);
  assert.deepEqual([top.neurons[0]!.layer, top.neurons[0]!.neuron], [0, 7]);
  assert.ok(Math.abs(top.neurons[0]!.r) > 0.9);
});

test("probe: bad inputs get typed errors; an aborted probe is cancelled", async () => {
  await assert.rejects(probeRun(store, runId, { texts: [] }), (e: unknown) => e instanceof ServiceError && e.code === "BAD_INPUT");
  await assert.rejects(probeRun(store, runId, { texts: ["a"], sampleIds: ["s1"] }), (e: unknown) => e instanceof ServiceError && e.code === "BAD_INPUT");
  await assert.rejects(probeRun(store, runId, { sampleIds: ["nope"] }), (e: unknown) => e instanceof ServiceError && e.code === "NOT_FOUND");
  await assert.rejects(probeRun(store, runId, { texts: ["red"] }, { neurons: [{ layer: 0, neuron: 64 }] }), /neuron 64 is out of range/);
  await assert.rejects(probeRun(store, runId, { rows: [{ colour: "red" }] }), /text/);
  const many = Array.from({ length: 2000 }, (_, i) => `red cat ${i % 10 === 0 ? "blue" : "dog"}`);
  const controller = new AbortController();
  const pending = probeRun(store, runId, { texts: many }, { neurons: [{ layer: 0, neuron: 7 }], signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  await assert.rejects(pending, (e: unknown) => e instanceof ServiceError && e.code === "RUNNER" && /CANCELLED/.test(e.message));
});

test("explain: the planted colour count is L0.N7's top explanation on held-out samples (AUC > 0.95); a word set of exactly the colours is found", async () => {
  const [n7] = await explainNeurons(store, runId, { neurons: [{ layer: 0, neuron: 7 }], metric: "colors", top: 5 });
  assert.ok(n7);
  const top = n7.explanations[0]!;
  assert.ok(["metric:colors", "word-set:text:blue|green|red"].includes(top.featureId), `top explanation ${top.featureId}: ${top.description}`);
  assert.ok(top.heldOutAuc > 0.95 && top.heldOutR > 0.9, `held-out AUC ${top.heldOutAuc}, r ${top.heldOutR}`);
  assert.equal(top.heldOutSamples, 150, "the train split, which the ranking never saw");
  assert.ok(top.effectSize > 1);
  // the column and the word set it counts are the same feature: one is listed, the other as its equivalent
  assert.deepEqual([top.spec, ...top.equivalents].filter((q) => q.kind === "word-set"), [{ kind: "word-set", field: "text", words: ["blue", "green", "red"] }]);
  // stored, so neuron search finds it by text, kind and driving word
  const found = await store.searchExplanations({ runId, word: "green", first: 10 });
  assert.ok(found.some((e) => e.layer === 0 && e.neuron === 7 && e.rank === 1), JSON.stringify(found.map((e) => e.featureId)));
  assert.deepEqual((await store.searchExplanations({ runId, text: "COLOURS-NOT-THERE", first: 10 })).length, 0);

  // a neuron with no role gets no explanation that holds up out of sample
  const [quiet] = await explainNeurons(store, runId, { neurons: [{ layer: 0, neuron: 3 }], metric: "colors", top: 3 });
  for (const e of quiet!.explanations) assert.ok(Math.abs(e.heldOutAuc - 0.5) < 0.35, `${e.featureId} AUC ${e.heldOutAuc}`);
});

describe("explain with an LLM (a stand-in server process speaking the chat-completions protocol)", () => {
  let llm: ChildProcess;
  let url: string;
  const requests = async () => (await (await fetch(`${url}/requests`)).json()) as { authorization: string | null; body: { model: string; messages: { content: string }[] } }[];

  before(async () => {
    llm = spawn(process.execPath, [fileURLToPath(new URL("./fake-llm-server.js", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, SKILLSCOPE_FAKE_LLM: "1" } });
    const [line] = (await once(llm.stdout!, "data")) as [Buffer];
    url = `http://127.0.0.1:${(JSON.parse(line.toString()) as { port: number }).port}`;
  });

  after(() => {
    llm.kill("SIGTERM");
  });

  test("nothing is sent unless configured; configured, the explanation is scored by simulating held-out samples", async () => {
    await explainNeurons(store, runId, { neurons: [{ layer: 0, neuron: 7 }], metric: "colors", top: 1 });
    assert.equal((await requests()).length, 0, "no LLM configured: no request");

    const [n7] = await explainNeurons(store, runId, { neurons: [{ layer: 0, neuron: 7 }], metric: "colors", top: 1, llm: { url: `${url}/v1`, model: "stand-in", apiKey: "test-key" } });
    const seen = await requests();
    assert.equal(seen.length, 1 + 2, "one explanation request, then 40 held-out samples simulated 20 per request");
    assert.ok(seen.every((r) => r.authorization === "Bearer test-key" && r.body.model === "stand-in"));
    // it saw the ranking split's extremal samples, and only the explanation when simulating
    assert.match(seen[0]!.body.messages.at(-1)!.content, /^Each line is a text with the neuron's activation/);
    assert.match(seen[1]!.body.messages.at(-1)!.content, /^Explanation of the neuron: The text mentions colour words/);
    const l = n7!.llm!;
    assert.equal(l.simulated.length, 40);
    // the simulation is the colour count, so r is the true count's r with the activation on those samples
    const count = (id: string) => Number(readFileSync(join(planted, "task.jsonl"), "utf8").split("\n").map((x) => (x ? JSON.parse(x) : {})).find((r: { id?: string }) => r.id === id).colors);
    l.simulated.forEach((s) => assert.equal(s.simulated, count(s.id)));
    assert.ok(l.simulationR > 0.95 && l.simulationAuc > 0.95, `simulation r ${l.simulationR}, AUC ${l.simulationAuc}`);
    const stored = await store.searchExplanations({ runId, source: "llm", first: 10 });
    assert.deepEqual(stored.map((e) => [e.featureId, e.description, e.heldOutSamples]), [["llm:stand-in", l.explanation, 40]]);
    assert.equal((await store.searchExplanations({ text: "colour words", kind: "llm", first: 10 })).length, 1);
  });

  test("a reply that breaks the protocol, a refused key and a bad URL get typed errors", async () => {
    const base = { neurons: [{ layer: 0, neuron: 7 }], metric: "colors", top: 1 };
    await assert.rejects(explainNeurons(store, runId, { ...base, llm: { url: `${url}/v1`, model: "broken", apiKey: "test-key" } }),
      (e: unknown) => e instanceof ServiceError && e.code === "RUNNER" && /JSON array of 20 numbers/.test(e.message));
    await assert.rejects(explainNeurons(store, runId, { ...base, llm: { url: `${url}/v1`, model: "stand-in", apiKey: "wrong" } }),
      (e: unknown) => e instanceof ServiceError && e.code === "RUNNER" && /HTTP 401/.test(e.message));
    await assert.rejects(explainNeurons(store, runId, { ...base, llm: { url: "not a url", model: "m" } }),
      (e: unknown) => e instanceof ServiceError && e.code === "BAD_INPUT");
  });
});
