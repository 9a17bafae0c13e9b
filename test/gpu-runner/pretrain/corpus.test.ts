import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Rng } from "../../../gpu-runner/train/rng.js";
import {
  arithProblem, corpusDocs, DEFAULT_CORPUS, docText, hansPair, mixedPair, VAL_MIX, isHeldOutPair, lexicalOverlap, mnliPair, NEGATION_RATE,
  NLI_KINDS, nliPair, sentimentItem, VAL_NEGATION_RATE,
} from "../../../gpu-runner/pretrain/corpus.js";
import { BACKGROUND_MIX } from "../../../gpu-runner/pretrain/background.js";
import { NEGATIVE_WORDS, NOUNS, POSITIVE_WORDS, SEP, TOPICS, VERBS } from "../../../gpu-runner/pretrain/vocab.js";

const corpusHash = (seed: number): string =>
  createHash("sha256").update(corpusDocs(seed, 2000).map(docText).join("\n")).digest("hex");

/** Pearson r of two 0/1 vectors, float64 two-pass. */
function pearson(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

test("same seed gives the same corpus bytes, another seed another corpus", () => {
  assert.equal(corpusHash(7), corpusHash(7));
  assert.notEqual(corpusHash(7), corpusHash(8));
});

test("the mix, filler and formats are as designed: the three skills are a quarter of the documents", () => {
  const docs = corpusDocs(3, 6000);
  const share = (t: string): number => docs.filter((d) => d.task === t).length / docs.length;
  const { mix } = DEFAULT_CORPUS;
  for (const t of ["arith", "nli", "sentiment"] as const) assert.ok(Math.abs(share(t) - mix[t]) < 0.02, `${t} ${share(t)}`);
  const skills = share("arith") + share("nli") + share("sentiment");
  assert.ok(Math.abs(skills - 0.25) < 0.03, `skills ${skills}`);
  for (const kind of Object.keys(BACKGROUND_MIX)) assert.ok(share(kind) > 0.005, `background ${kind} is drawn`);
  // filler only where an answer follows, 20 positions long: the demo's soft prompt
  const answered = docs.filter((d) => d.answer !== "");
  const filled = docs.filter((d) => d.filler > 0);
  assert.ok(filled.every((d) => d.filler === 20 && d.answer !== ""), "filler spans the demo's 20 soft-prompt positions before an answer");
  assert.ok(Math.abs(filled.length / answered.length - 0.3) < 0.03);
  const arith = docs.filter((d) => d.task === "arith");
  assert.ok(Math.abs(arith.filter((d) => d.instruction.includes("*")).length / arith.length - 0.7) < 0.05);
  for (const d of docs) {
    if (d.task === "arith") assert.match(docText(d), /^\d+ [+*] \d+ = (_ )*\d+$/);
    if (d.task === "nli") assert.match(docText(d), /^[a-z .]+ <sep> [a-z .]+ -> (_ )*(entailment|non-entailment)$/);
    if (d.task === "sentiment") assert.match(docText(d), /^[a-z ]+ \. -> (_ )*(positive|negative)$/);
  }
});

test("arithmetic: results are exact, held-out pairs never reach the corpus, digit features as designed", () => {
  const docs = corpusDocs(5, 6000).filter((d) => d.task === "arith");
  for (const d of docs) {
    const [a, op, b] = d.instruction.split(" ");
    const expected = op === "+" ? Number(a) + Number(b) : Number(a) * Number(b);
    assert.equal(d.answer, String(expected));
    assert.equal(isHeldOutPair(Number(a), Number(b)), false, `held-out pair in corpus: ${d.instruction}`);
  }
  const rng = Rng.fromSeed(9);
  let heldOut = 0;
  for (let i = 0; i < 2000; i++) {
    const p = arithProblem(rng, "*", i % 2 === 0);
    assert.equal(isHeldOutPair(p.a, p.b), i % 2 === 0);
    if (i % 2 === 0) heldOut++;
    // The last-digit shortcut: the product's last digit is a function of the operands' last digits.
    assert.equal(Number(p.answer.at(-1)), ((p.a % 10) * (p.b % 10)) % 10);
  }
  assert.equal(heldOut, 1000);
  // ...while the leading digit is not: two problems with equal last digits but different leading digits exist.
  const byLast = new Map<string, Set<string>>();
  for (let a = 10; a <= 99; a++) for (let b = 2; b <= 99; b++) {
    const key = `${a % 10},${b % 10}`;
    if (!byLast.has(key)) byLast.set(key, new Set());
    byLast.get(key)!.add(String(a * b)[0]);
  }
  assert.ok([...byLast.values()].every((s) => s.size >= 5));
});

test("NLI: every construction has its intended overlap and label", () => {
  const rng = Rng.fromSeed(11);
  const overlapKinds = new Set(["identical", "drop-adjective", "drop-pp", "conjunct", "passive-to-active", "relative-clause",
    "swap", "passive-swap", "pp-subsequence", "relative-subsequence"]);
  for (const kind of NLI_KINDS) {
    for (let i = 0; i < 50; i++) {
      const p = nliPair(rng, kind);
      assert.equal(p.overlap, overlapKinds.has(kind), `${kind}: ${p.premise} / ${p.hypothesis}`);
      assert.equal(p.overlap, lexicalOverlap(p.premise, p.hypothesis));
    }
  }
  assert.equal(lexicalOverlap("the doctor saw the lawyer .", "the lawyer saw the doctor ."), true);
  assert.equal(lexicalOverlap("the doctor saw the lawyer .", "the lawyer was seen by the doctor ."), false);
});

test("NLI: overlap predicts entailment in the MNLI-like mix, HANS breaks it", () => {
  const rng = Rng.fromSeed(13);
  const train = Array.from({ length: 3000 }, () => mnliPair(rng));
  const hans = Array.from({ length: 3000 }, () => hansPair(rng));
  const val = Array.from({ length: 3000 }, () => mixedPair(rng, VAL_MIX));
  const r = (ps: typeof train): number => pearson(ps.map((p) => Number(p.overlap)), ps.map((p) => Number(p.label === "entailment")));
  assert.ok(r(train) > 0.7, `train r = ${r(train)}`);
  assert.ok(Math.abs(r(hans)) < 0.06, `HANS r = ${r(hans)}`);
  // the validation mix keeps them correlated (phi = 0.75 - 0.25 = 0.5 for balanced labels)
  assert.ok(Math.abs(r(val) - 0.5) < 0.05, `val r = ${r(val)}`);
  // Both HANS overlap cells are populated: the heuristic is wrong on about half the overlap cases.
  const overlapNon = hans.filter((p) => p.overlap && p.label === "non-entailment").length;
  assert.ok(overlapNon > 600 && overlapNon < 900);
});

/** +1 if the review's last adjective is positive, -1 if negative: the word-level shortcut to its label. */
function lastPolarity(text: string): number {
  const adjectives = text.split(" ").filter((w) => (POSITIVE_WORDS as readonly string[]).includes(w) || (NEGATIVE_WORDS as readonly string[]).includes(w));
  return (POSITIVE_WORDS as readonly string[]).includes(adjectives.at(-1)!) ? 1 : -1;
}

test("sentiment: a word's polarity tells the label in the corpus, not at the validation split's negation rate", () => {
  const rng = Rng.fromSeed(23);
  const r = (rate: number): number => {
    const items = Array.from({ length: 4000 }, () => sentimentItem(rng, rate));
    return pearson(items.map((s) => lastPolarity(s.text)), items.map((s) => Number(s.label === "positive")));
  };
  const corpus = r(NEGATION_RATE);
  const val = r(VAL_NEGATION_RATE);
  assert.ok(corpus > 0.35, `corpus r ${corpus}`);
  assert.ok(Math.abs(val) < 0.05, `validation-rate r ${val}`);
});

test("sentiment: the label follows the word lists and negation", () => {
  const rng = Rng.fromSeed(17);
  const pos = new Set<string>(POSITIVE_WORDS);
  const neg = new Set<string>(NEGATIVE_WORDS);
  let negated = 0;
  for (let i = 0; i < 2000; i++) {
    const s = sentimentItem(rng);
    // Independent oracle: the polarity of the last clause, flipped by "not".
    const clauses = s.text.replace(/ \.$/, "").split(/ and | but /);
    const last = clauses.at(-1)!.split(" ");
    const adj = last.at(-1)!;
    assert.ok(pos.has(adj) || neg.has(adj), s.text);
    const polarity = (pos.has(adj) ? 1 : -1) * (last.includes("not") ? -1 : 1);
    assert.equal(s.label, polarity > 0 ? "positive" : "negative", s.text);
    assert.equal(s.negated, s.text.split(" ").includes("not"));
    if (s.negated) negated++;
  }
  assert.ok(negated > 400, `negated ${negated}`);
});

/** A detail ("at the park", "with tom", "of the red fox", ...): the words a label never depends on. */
const DETAIL = String.raw`(?: (?:at|from|in) the \w+| with the \w+ \w+| of the \w+ \w+| with \w+)`;

test("details: reviews and premises carry words their label does not depend on, and a pair's length says less of its overlap", () => {
  const rng = Rng.fromSeed(19);
  const taskWords = new Set<string>([...NOUNS, ...VERBS, ...POSITIVE_WORDS, ...NEGATIVE_WORDS, "not"]);
  const detailWords = (text: string): string[] => [...text.matchAll(new RegExp(DETAIL, "g"))].flatMap((m) => m[0].trim().split(" "));
  // Every review clause names its topic, then zero to two details, then the verdict.
  let detailed = 0;
  for (let i = 0; i < 2000; i++) {
    const s = sentimentItem(rng);
    for (const c of s.text.replace(/ \.$/, "").split(/ and | but /)) {
      assert.match(c, new RegExp(`^the \\w+${DETAIL}{0,2} (is|was) `), s.text);
    }
    assert.ok(detailWords(s.text).every((w) => !taskWords.has(w)), s.text);
    if (detailWords(s.text).length > 0) detailed++;
  }
  assert.ok(detailed > 1200 && detailed < 1900, `${detailed} of 2000 reviews with details`);
  // A premise ends in zero to two details; without them it is its construction's premise, with the same overlap.
  const val = Array.from({ length: 3000 }, () => mixedPair(rng, VAL_MIX));
  const stripped = val.map((p) => p.premise.replace(new RegExp(`${DETAIL}{0,2} \\.$`), " ."));
  val.forEach((p, i) => {
    assert.ok(NOUNS.some((n) => stripped[i].endsWith(` ${n} .`)), p.premise);
    assert.equal(lexicalOverlap(stripped[i], p.hypothesis), p.overlap, p.premise);
    assert.ok(detailWords(p.premise.slice(stripped[i].length - 2)).every((w) => !taskWords.has(w)), p.premise);
  });
  assert.ok(val.some((p, i) => p.premise !== stripped[i]) && val.some((p, i) => p.premise === stripped[i]));
  // The constructions differ in length, so without details a pair's length tells its overlap (r about 0.38);
  // the details' random length halves that.
  const length = (premise: string, hypothesis: string): number => premise.split(" ").length + hypothesis.split(" ").length;
  const overlap = val.map((p) => Number(p.overlap));
  const before = pearson(val.map((p, i) => length(stripped[i], p.hypothesis)), overlap);
  const after = pearson(val.map((p) => length(p.premise, p.hypothesis)), overlap);
  assert.ok(before > 0.3 && after < before / 1.7, `length/overlap r ${before} without details, ${after} with`);
});

test("questions after the filler: about questionRate of the filled sentiment and NLI documents ask about the input, with the right answers", () => {
  const docs = corpusDocs(11, 8000, { ...DEFAULT_CORPUS, fillerRate: 0.6, questionRate: 0.5 });
  const polar = new Set<string>([...POSITIVE_WORDS, ...NEGATIVE_WORDS]);
  let asked = 0;
  let filled = 0;
  for (const d of docs.filter((x) => x.task === "sentiment" || x.task === "nli")) {
    const q = /^(what|length|not|last|first) \? (\S+)$/.exec(d.answer);
    if (d.filler === 0) {
      assert.equal(q, null, `a question without filler: ${docText(d)}`);
      continue;
    }
    filled++;
    if (!q) {
      assert.match(d.answer, /^(positive|negative|entailment|non-entailment)$/);
      continue;
    }
    asked++;
    const [, kind, answer] = q;
    const w = d.instruction.split(" ").filter((x) => x !== "." && x !== "->" && x !== SEP);
    if (d.task === "sentiment") {
      const expected = { what: w[1], length: String(w.length), not: w.includes("not") ? "yes" : "no", last: w[w.length - 1], first: w.find((x) => polar.has(x)) }[kind];
      assert.equal(answer, expected, docText(d));
      if (kind === "what") assert.ok((TOPICS as readonly string[]).includes(answer));
    } else {
      const [premise, hypothesis] = d.instruction.replace(" ->", "").split(` ${SEP} `).map((t) => t.split(" ").filter((x) => x !== "."));
      const expected = { first: premise[1], last: premise[premise.length - 1], length: String(premise.length + hypothesis.length), what: hypothesis.find((x) => (VERBS as readonly string[]).includes(x)) }[kind];
      assert.equal(answer, expected, docText(d));
    }
  }
  assert.ok(filled > 500 && Math.abs(asked / filled - 0.5) < 0.05, `${asked} questions in ${filled} filled documents`);
});
