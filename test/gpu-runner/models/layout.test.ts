import assert from "node:assert/strict";
import { test } from "node:test";
import { BatchInputError, layoutBatch, MASKED } from "../../../gpu-runner/models/layout.js";

test("soft prompt inserted after K tokens, right padding, positions, loss targets", () => {
  const L = layoutBatch([{ ids: [5, 6, 7, 8], insertAt: 2, lossLast: 2 }, { ids: [9, 10], insertAt: 1, lossLast: 1 }], 2, 64, 16);
  assert.equal(L.seqLen, 6);
  assert.deepEqual(L.lengths, [6, 4]);
  assert.deepEqual(Array.from(L.inputIds, Number), [5, 6, 0, 0, 7, 8, 9, 0, 0, 10, 0, 0]);
  assert.deepEqual(Array.from(L.tokenMask), [1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0]);
  assert.deepEqual(Array.from(L.positionIds, Number), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(L.softPos, Number), [2, 3, 7, 8]);
  // one-hot: sequence 0 slot 2 -> vector 0, slot 3 -> vector 1
  assert.equal(L.softOneHot![(0 * 6 + 2) * 2 + 0], 1);
  assert.equal(L.softOneHot![(0 * 6 + 3) * 2 + 1], 1);
  assert.equal(L.softOneHot!.reduce((a, b) => a + b, 0), 4);
  // targets: seq 0 predicts 7 from position 3 and 8 from 4; seq 1 predicts 10 from position 6+2
  assert.deepEqual(Array.from(L.lossPos, Number), [3, 4, 8]);
  assert.deepEqual(Array.from(L.lossTargets, Number), [7, 8, 10]);
  assert.deepEqual(Array.from(L.lastPos, Number), [5, 9]);
  // attention: seq 1 query 2 sees keys 0..2, never the padding key 4; padding query 5 sees real keys + itself
  const bias = (b: number, i: number, j: number) => L.attnBias[(b * 6 + i) * 6 + j];
  assert.deepEqual([0, 1, 2, 3].map((j) => bias(1, 2, j)), [0, 0, 0, MASKED]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((j) => bias(1, 5, j)), [0, 0, 0, 0, MASKED, 0]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((j) => bias(0, 5, j)), [0, 0, 0, 0, 0, 0]);
});

test("a sliding window W masks keys W or more positions back, padding keys still masked", () => {
  const L = layoutBatch([{ ids: [5, 6, 7, 8], insertAt: 2 }, { ids: [9, 10], insertAt: 1 }], 2, 64, 16, 2);
  const bias = (b: number, i: number, j: number) => L.attnBias[(b * 6 + i) * 6 + j];
  const M = MASKED;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((j) => bias(0, 5, j)), [M, M, M, M, 0, 0]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((j) => bias(0, 0, j)), [0, M, M, M, M, M]);
  // sequence 1 is 4 long: query 3 sees 2 and 3; padding query 5 sees only itself (key 4 is padding)
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((j) => bias(1, 3, j)), [M, M, 0, 0, M, M]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((j) => bias(1, 5, j)), [M, M, M, M, M, 0]);
});

test("bad batches are rejected with the sequence named", () => {
  assert.throws(() => layoutBatch([], 0, 64, 16), BatchInputError);
  assert.throws(() => layoutBatch([{ ids: [1, 64] }], 0, 64, 16), /sequence 0: token id 64/);
  assert.throws(() => layoutBatch([{ ids: [1, 2], insertAt: 3 }], 2, 64, 16), /sequence 0: insertAt 3/);
  assert.throws(() => layoutBatch([{ ids: [1, 2] }], 2, 64, 16), /insertAt undefined/);
  assert.throws(() => layoutBatch([{ ids: [1, 2, 3], insertAt: 2, lossLast: 2 }], 2, 64, 16), /lossLast 2/);
  assert.throws(() => layoutBatch([{ ids: new Array(15).fill(1), insertAt: 0 }], 2, 64, 16), /17 positions exceed/);
});
