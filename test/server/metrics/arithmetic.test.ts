import assert from "node:assert/strict";
import { test } from "node:test";
import { digitFeatures, firstInteger, lastDigit, shortcutDigit } from "../../../server/metrics/arithmetic.js";

test("worked example: 23 * 47 = 1081", () => {
  const f = digitFeatures("23", "47", "*", "1081");
  assert.deepEqual(f, { aLastDigit: 3, bLastDigit: 7, resultLastDigit: 1, predLastDigit: 1, lastDigitShortcut: 1, shortcutAgrees: 1 });
  // A wrong product that keeps the shortcut digit still follows the shortcut.
  assert.equal(digitFeatures("23", "47", "*", "1021").lastDigitShortcut, 1);
  assert.equal(digitFeatures("23", "47", "*", "1085").lastDigitShortcut, 0);
});

test("worked examples for + and -", () => {
  assert.deepEqual(digitFeatures("23", "47", "+", "70"), { aLastDigit: 3, bLastDigit: 7, resultLastDigit: 0, predLastDigit: 0, lastDigitShortcut: 1, shortcutAgrees: 1 });
  // 23 - 47 = -24: last digit 4, but (3 - 7) mod 10 = 6.
  assert.deepEqual(digitFeatures("23", "47", "-", "The answer is -24."), { aLastDigit: 3, bLastDigit: 7, resultLastDigit: 4, predLastDigit: 4, lastDigitShortcut: 0, shortcutAgrees: 0 });
  // 52 - 17 = 35: (2 - 7) mod 10 = 5.
  assert.equal(digitFeatures("52", "17", "-").shortcutAgrees, 1);
});

test("missing prediction or bad operands give NaN, not guesses", () => {
  const noPred = digitFeatures("12", "34", "*");
  assert.ok(Number.isNaN(noPred.predLastDigit) && Number.isNaN(noPred.lastDigitShortcut));
  assert.equal(noPred.shortcutAgrees, 1);
  assert.ok(Number.isNaN(digitFeatures("12", "34", "*", "no idea").lastDigitShortcut));
  const bad = digitFeatures("2.5", "34", "*", "85");
  assert.ok(Number.isNaN(bad.aLastDigit) && Number.isNaN(bad.resultLastDigit) && Number.isNaN(bad.shortcutAgrees));
  assert.equal(bad.bLastDigit, 4);
});

test("big operands are exact", () => {
  // 123456789012345678901 * 3 = 370370367037037036703
  assert.equal(digitFeatures("123456789012345678901", "3", "*").resultLastDigit, 3);
  assert.equal(lastDigit(-1234567890123456789017n), 7);
  assert.equal(firstInteger("x = 370370367037037036703"), 370370367037037036703n);
});

test("shortcut_agrees over all operand pairs 0..199 matches its closed form", () => {
  for (let a = 0; a < 200; a++) {
    for (let b = 0; b < 200; b++) {
      assert.equal(digitFeatures(String(a), String(b), "*").shortcutAgrees, 1);
      assert.equal(digitFeatures(String(a), String(b), "+").shortcutAgrees, 1);
      // a - b < 0: |a - b| ends in (b - a) mod 10, the shortcut in (a - b) mod 10; equal iff that is 0 or 5.
      const expected = a >= b || (b - a) % 10 === 0 || (b - a) % 10 === 5 ? 1 : 0;
      assert.equal(digitFeatures(String(a), String(b), "-").shortcutAgrees, expected, `${a} - ${b}`);
    }
  }
  assert.equal(shortcutDigit(3n, 7n, "-"), 6);
  assert.equal(shortcutDigit(-13n, 7n, "*"), 1);
});
