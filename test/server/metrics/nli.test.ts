import assert from "node:assert/strict";
import { test } from "node:test";
import { lexicalOverlap, subsequence } from "../../../server/metrics/nli.js";
import { normalizedWords } from "../../../server/metrics/normalize.js";

// Hand-written HANS-style pairs: [premise, hypothesis, lexical_overlap, subsequence].
const HANS: [string, string, number, number][] = [
  ["The doctor saw the lawyer.", "The lawyer saw the doctor.", 1, 0],
  ["The doctor near the actor danced.", "The actor danced.", 1, 1],
  ["The lawyer who the doctor saw ran.", "The lawyer ran.", 1, 0],
  ["The doctor saw the lawyer.", "The doctor slept.", 0, 0],
  ["The Doctor,  saw the LAWYER!", "the doctor saw", 1, 1],
  ["The senator believed the athlete.", "The senator believed the athlete.", 1, 1],
  ["The artist and the judge slept.", "The judge slept.", 1, 1],
  ["The artist and the judge slept.", "The artist slept quietly.", 0, 0],
  ["The banker didn't see the tourist.", "The banker didnt see the tourist.", 1, 1],
];

for (const [premise, hypothesis, overlap, subseq] of HANS) {
  test(`"${premise}" / "${hypothesis}"`, () => {
    assert.equal(lexicalOverlap(premise, hypothesis), overlap);
    assert.equal(subsequence(premise, hypothesis), subseq);
  });
}

test("subsequence matches whole words, not substrings", () => {
  assert.equal(subsequence("The doctors saw him.", "The doctor saw"), 0);
  assert.equal(lexicalOverlap("The doctors saw him.", "doctor"), 0);
});

test("an empty hypothesis gives NaN", () => {
  assert.ok(Number.isNaN(lexicalOverlap("The doctor saw.", " ... ")));
  assert.ok(Number.isNaN(subsequence("The doctor saw.", "")));
});

test("normalisation: lowercase, punctuation out, whitespace collapsed", () => {
  assert.deepEqual(normalizedWords("  Élan,\tVITAL — it's\n“here”!  "), ["élan", "vital", "its", "here"]);
});
