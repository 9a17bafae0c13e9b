import { test } from "node:test";
import assert from "node:assert/strict";
import { backgroundDoc, WORLD, type BackgroundDoc } from "../../../gpu-runner/pretrain/background.js";
import { corpusDocs, docText } from "../../../gpu-runner/pretrain/corpus.js";
import { UNK_ID, WordCodec } from "../../../gpu-runner/pretrain/tokenizer.js";
import { LETTERS, OPPOSITES } from "../../../gpu-runner/pretrain/vocab.js";
import { Rng } from "../../../gpu-runner/train/rng.js";

const docs: BackgroundDoc[] = (() => {
  const rng = Rng.fromSeed(21);
  return Array.from({ length: 8000 }, () => backgroundDoc(rng));
})();
const of = (kind: BackgroundDoc["kind"]) => docs.filter((d) => d.kind === kind);
/** The words between "kw :" and "->". */
const operands = (d: BackgroundDoc) => d.instruction.replace(/^[a-z]+ : /, "").replace(/ ->$/, "").split(" ");

test("every corpus document tokenizes without <unk> and fits one pretraining row", () => {
  const codec = new WordCodec();
  for (const d of corpusDocs(22, 5000)) {
    const ids = codec.encode(docText(d));
    assert.ok(!ids.includes(UNK_ID), docText(d));
    assert.ok(ids.length + 1 <= 65, `${ids.length} tokens: ${docText(d)}`);
  }
});

test("the unrelated tasks' answers are right (independent oracles)", () => {
  for (const d of of("copy")) assert.equal(d.answer, operands(d).join(" "));
  for (const d of of("reverse")) assert.equal(d.answer, operands(d).reverse().join(" "));
  for (const d of of("sort")) assert.equal(d.answer, operands(d).map(Number).sort((a, b) => a - b).join(" "));
  for (const d of of("length")) assert.equal(Number(d.answer), operands(d).length);
  for (const d of of("next-letter")) {
    const [kw, , letter] = d.instruction.split(" ");
    assert.equal(LETTERS.indexOf(d.answer) - LETTERS.indexOf(letter), kw === "next" ? 1 : -1, d.instruction);
  }
  for (const d of of("compare")) {
    const [kw, , a, b] = d.instruction.split(" ");
    assert.equal(Number(d.answer), (kw === "bigger" ? Math.max : Math.min)(Number(a), Number(b)));
  }
  for (const d of of("parity")) {
    const [, n, kind] = d.instruction.split(" ");
    assert.equal(d.answer, (Number(n) % 2 === 0) === (kind === "even") ? "yes" : "no");
  }
  for (const d of of("opposite")) {
    const w = operands(d)[0];
    assert.ok(OPPOSITES.some(([x, y]) => (x === w && y === d.answer) || (y === w && x === d.answer)), d.instruction);
  }
  for (const d of of("first-last")) {
    const w = operands(d);
    assert.equal(d.answer, d.instruction.startsWith("first") ? w[0] : w.at(-1));
  }
  for (const d of of("subtract")) {
    const [a, , b] = d.instruction.split(" ");
    assert.equal(Number(d.answer), Number(a) - Number(b));
  }
  for (const d of of("counting")) {
    if (d.instruction.startsWith("count from")) {
      const [, , from, , to] = d.instruction.split(" ");
      const steps = d.answer.split(" ").map(Number);
      assert.equal(steps[0], Number(from));
      assert.equal(steps.at(-1), Number(to));
      steps.forEach((v, i) => i > 0 && assert.equal(v - steps[i - 1], 1));
    } else {
      const [, word, colon, ...items] = d.instruction.replace(/ ->$/, "").split(" ");
      assert.equal(colon, ":");
      assert.equal(Number(d.answer), items.filter((w) => w === word).length, d.instruction);
    }
  }
  for (const kind of ["story", "dialogue", "list", "fact"] as const) assert.ok(of(kind).every((d) => d.answer === ""), `${kind} is plain text`);
});

test("facts and questions about the fixed world agree, whatever the corpus seed", () => {
  for (const d of of("fact")) {
    const lives = /^the (\w+) lives in the (\w+) \.$/.exec(d.instruction);
    if (lives) assert.equal(WORLD.animals.get(lives[1])!.home, lives[2]);
    const job = /^(\w+) is a (\w+) \.$/.exec(d.instruction);
    if (job) assert.equal(WORLD.people.get(job[1])!.job, job[2]);
  }
  for (const d of of("fact-question")) {
    const where = /^q : where does the (\w+) live \? ->$/.exec(d.instruction);
    if (where) assert.equal(d.answer, WORLD.animals.get(where[1])!.home);
    const job = /^q : what is the job of (\w+) \? ->$/.exec(d.instruction);
    if (job) assert.equal(d.answer, WORLD.people.get(job[1])!.job);
  }
  assert.ok(of("fact").length > 200 && of("fact-question").length > 200);
});
