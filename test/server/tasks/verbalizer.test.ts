import assert from "node:assert/strict";
import { test } from "node:test";
import { answerText, parseVerbalizer, verbalizerClasses, VerbalizerError } from "../../../server/tasks/verbalizer.js";

const v = parseVerbalizer({ "0": "negative", "1": "positive" });

test("answerText: an explicit answer wins, else the verbalized label", () => {
  assert.equal(answerText({ answer: "great", label: 0 }, v), "great");
  assert.equal(answerText({ label: 1 }, v), "positive");
  assert.equal(answerText({ label: "0" }, v), "negative");
  assert.equal(answerText({ answer: "42" }), "42");
});

test("answerText errors: no target, no verbalizer, unmapped label", () => {
  assert.throws(() => answerText({ id: "r1" }, v), (e: unknown) => e instanceof VerbalizerError && e.message.includes('row "r1"'));
  assert.throws(() => answerText({ label: 1 }), (e: unknown) => e instanceof VerbalizerError && e.message.includes("verbalizer"));
  assert.throws(() => answerText({ label: 2 }, v), (e: unknown) => e instanceof VerbalizerError && e.label === "2");
});

test("parseVerbalizer rejects non-objects, empty maps, empty and repeated texts", () => {
  for (const bad of [null, [], "x", {}, { a: "" }, { a: 1 }, { a: "yes", b: "yes" }]) {
    assert.throws(() => parseVerbalizer(bad), VerbalizerError, JSON.stringify(bad));
  }
});

test("class order is the key order", () => {
  assert.deepEqual(verbalizerClasses(parseVerbalizer({ entailment: "yes", neutral: "maybe", contradiction: "no" })), ["entailment", "neutral", "contradiction"]);
  assert.deepEqual(verbalizerClasses(v), ["0", "1"]);
});
