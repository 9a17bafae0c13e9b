import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeJsonError, parseJsonText } from "../../../gpu-runner/hf/json-text.js";

/** Parse errors of files the user named: where and what, never a byte of the text. */
describe("describeJsonError", () => {
  const cases: [string, string][] = [
    ["", "line 1, column 1 (character 0): expected a value"],
    ["root:x:0:0:secret", "line 1, column 1 (character 0): expected a JSON value or punctuation, found another character"],
    ['{"a": 1', "line 1, column 8 (character 7): expected '}'"],
    ['{\n  "a": 1,\n  "b" 2\n}', "line 3, column 7 (character 18): expected ':'"],
    ["[1, 2,]", "line 1, column 7 (character 6): expected a value"],
    ['{"a": "x\ny"}', "line 1, column 7 (character 6): expected the closing '\"' of a string on the same line"],
    ["{} {}", "line 1, column 4 (character 3): expected the end of the text"],
    ["// c\n{}", "line 1, column 1 (character 0): expected no comment (JSON has none)"],
  ];
  for (const [text, where] of cases) {
    it(JSON.stringify(text), () => {
      const message = describeJsonError(text);
      assert.equal(message, `not valid JSON at ${where}`);
      if (text.includes("secret")) assert.ok(!message.includes("secret"));
    });
  }

  it("parseJsonText returns the value, or throws the caller's error with the description", () => {
    assert.deepEqual(parseJsonText('{"a": [1]}', (p) => new Error(p)), { a: [1] });
    assert.throws(() => parseJsonText("nope", (p) => new RangeError(`f.json: ${p}`)), (e: unknown) =>
      e instanceof RangeError && e.message === "f.json: not valid JSON at line 1, column 1 (character 0): expected a JSON value or punctuation, found another character");
  });
});
