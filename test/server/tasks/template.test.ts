import assert from "node:assert/strict";
import { test } from "node:test";
import { renderTemplate, TemplateError, templateFields } from "../../../server/tasks/template.js";

const row = { id: "r7", fields: { premise: "The doctor saw the lawyer.", hypothesis: "The lawyer saw the doctor.", "sentence 1": "x" } };

test("fields and {id} are filled in", () => {
  assert.equal(
    renderTemplate("Premise: {premise}\nHypothesis: {hypothesis}\n[{id}] Entailment?", row),
    "Premise: The doctor saw the lawyer.\nHypothesis: The lawyer saw the doctor.\n[r7] Entailment?",
  );
  assert.equal(renderTemplate("{sentence 1}!", row), "x!");
});

test("{{ and }} write literal braces", () => {
  assert.equal(renderTemplate('{{"p": "{premise}"}}', row), '{"p": "The doctor saw the lawyer."}');
  assert.equal(renderTemplate("{{premise}}", row), "{premise}");
  assert.equal(renderTemplate("no fields", row), "no fields");
});

test("an unknown field is an error naming it", () => {
  assert.throws(() => renderTemplate("Q: {question}", row), (err: unknown) =>
    err instanceof TemplateError && err.field === "question" && err.message.includes("{question}") && err.message.includes("premise"));
});

test("bad syntax and target fields are errors", () => {
  assert.throws(() => renderTemplate("a } b", row), (e: unknown) => e instanceof TemplateError && e.message.includes("unmatched"));
  assert.throws(() => renderTemplate("a {premise", row), (e: unknown) => e instanceof TemplateError && e.message.includes("unclosed"));
  assert.throws(() => renderTemplate("a {pre{mise}", row), (e: unknown) => e instanceof TemplateError && e.message.includes("unclosed"));
  assert.throws(() => renderTemplate("a {}", row), (e: unknown) => e instanceof TemplateError && e.message.includes("empty"));
  assert.throws(() => renderTemplate("{premise} => {label}", row), (e: unknown) => e instanceof TemplateError && e.field === "label");
  assert.throws(() => renderTemplate("{answer}", row), (e: unknown) => e instanceof TemplateError && e.field === "answer");
});

test("templateFields lists each field once in first-use order", () => {
  assert.deepEqual(templateFields("{b} {a} {{c}} {b}"), ["b", "a"]);
});
