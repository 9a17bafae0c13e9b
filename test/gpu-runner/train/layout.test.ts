import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, resolveLayout } from "../../../gpu-runner/train/layout.js";
import { RunnerError } from "../../../gpu-runner/train/errors.js";

const samples = [
  { instructionIds: [1, 7, 8], answerIds: [5, 6] },
  { instructionIds: [1, 9], answerIds: [4] },
];

test("after placement: worked example with right padding", () => {
  const b = buildBatch(samples, [0, 1], resolveLayout({ promptLength: 3, padId: 0 }));
  assert.equal(b.size, 2);
  assert.equal(b.seqLen, 8);
  assert.equal(b.maxAnswerLength, 2);
  // row 0: 1 7 8 [s s s] 5 6 ; row 1: 1 9 [s s s] 4 pad pad
  assert.deepEqual([...b.inputIds], [1, 7, 8, 0, 0, 0, 5, 6, 1, 9, 0, 0, 0, 4, 0, 0]);
  assert.deepEqual([...b.attentionMask], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...b.softIndex], [-1, -1, -1, 0, 1, 2, -1, -1, -1, -1, 0, 1, 2, -1, -1, -1]);
  assert.deepEqual([...b.insertAt], [3, 2]);
  assert.deepEqual([...b.softPositions], [3, 4, 5, 2, 3, 4]);
  assert.deepEqual([...b.lengths], [8, 6]);
  // the first answer token is predicted from the LAST soft position
  assert.deepEqual([...b.targetIds], [-1, -1, -1, -1, -1, 5, 6, -1, -1, -1, -1, -1, 4, -1, -1, -1]);
  assert.deepEqual([...b.targetMask], [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual([...b.answerStart], [6, 5]);
  assert.deepEqual([...b.answerLength], [2, 1]);
  assert.deepEqual([...b.answerIds], [5, 6, 4, -1]);
  assert.deepEqual([...b.answerTargetPositions], [5, 6, 4, -1]);
  assert.deepEqual([...b.sampleIdx], [0, 1]);
  assert.equal(b.answerTokens, 3);
  assert.equal(b.totalTokens, 14);
});

test("prefix placement puts the prompt first; the last instruction token predicts the answer", () => {
  const b = buildBatch(samples, [1, 0], resolveLayout({ promptLength: 3, padId: 0, placement: "prefix" }));
  assert.deepEqual([...b.inputIds], [0, 0, 0, 1, 9, 4, 0, 0, 0, 0, 0, 1, 7, 8, 5, 6]);
  assert.deepEqual([...b.softIndex.subarray(0, 8)], [0, 1, 2, -1, -1, -1, -1, -1]);
  assert.deepEqual([...b.insertAt], [0, 0]);
  assert.deepEqual([...b.answerTargetPositions], [4, -1, 5, 6]);
  assert.deepEqual([...b.sampleIdx], [1, 0]);
});

test("prefix placement with an empty instruction predicts from the last soft position", () => {
  const b = buildBatch([{ instructionIds: [], answerIds: [3] }], [0], resolveLayout({ promptLength: 2, placement: "prefix" }));
  assert.deepEqual([...b.answerTargetPositions], [1]);
  assert.deepEqual([...b.softPositions], [0, 1]);
});

test("maxLength: error by default, left truncation keeps the instruction's end", () => {
  const long = [{ instructionIds: [1, 2, 3, 4, 5], answerIds: [6] }];
  assert.throws(() => buildBatch(long, [0], resolveLayout({ promptLength: 2, maxLength: 6 })), (e: unknown) => e instanceof RunnerError && e.code === "BAD_INPUT" && /sample 0.*maxLength 6/.test(e.message));
  const b = buildBatch(long, [0], resolveLayout({ promptLength: 2, maxLength: 6, truncate: "left" }));
  assert.deepEqual([...b.inputIds], [3, 4, 5, 0, 0, 6]);
  assert.equal(b.truncatedTokens, 2);
  assert.equal(b.seqLen, 6);
});

test("bad input names the sample and field", () => {
  const layout = resolveLayout({ promptLength: 2 });
  assert.throws(() => buildBatch([{ instructionIds: [1], answerIds: [] }], [0], layout), /sample 0: answer has no tokens/);
  assert.throws(() => buildBatch([{ instructionIds: [1, -2], answerIds: [3] }], [0], layout), /sample 0: instructionIds\[1\] = -2/);
  assert.throws(() => buildBatch([{ instructionIds: [1], answerIds: [1.5] }], [0], layout), /answerIds\[0\]/);
  assert.throws(() => buildBatch(samples, [5], layout), /out of range/);
  assert.throws(() => resolveLayout({ promptLength: 0 }), /promptLength/);
  assert.throws(() => resolveLayout({ placement: "before" as never }), /placement/);
});
