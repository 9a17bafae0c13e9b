import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, resolveLayout } from "../../../gpu-runner/train/layout.js";
import { scoreAnswers, tokenScoresFromLogits } from "../../../gpu-runner/train/scoring.js";

test("per-sample loss, gold probability, confidence, argmax and correctness", () => {
  const batch = buildBatch([{ instructionIds: [1], answerIds: [2, 0] }, { instructionIds: [1], answerIds: [1] }], [0, 1], resolveLayout({ promptLength: 1 }));
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  // V = 3; rows [B=2, A=2]
  const logits = Float32Array.of(
    0, 0, Math.log(2), // row0 pos0: p = [1/4, 1/4, 1/2]; gold 2
    Math.log(3), 0, 0, // row0 pos1: p = [3/5, 1/5, 1/5]; gold 0
    0, Math.log(4), Math.log(5), // row1 pos0: p = [1/10, 4/10, 5/10]; gold 1
    9, 9, 9, // past row1's answer: ignored
  );
  const tokens = tokenScoresFromLogits(batch, logits, 3);
  close(tokens.maxLogProb[1], Math.log(0.6));
  const s = scoreAnswers(batch, tokens);
  close(s.goldLogProb[0], Math.log(0.5 * 0.6));
  close(s.loss[0], -Math.log(0.5 * 0.6) / 2);
  close(s.confidence[0], 0.5);
  assert.deepEqual([...s.argmax], [2, 0, 2, -1]);
  assert.deepEqual([...s.correct], [1, 0]);
  close(s.goldLogProb[1], Math.log(0.4));
  close(s.confidence[1], 0.5);
  close(s.nllSum, -Math.log(0.3) - Math.log(0.4));
  assert.throws(() => tokenScoresFromLogits(batch, new Float32Array(5), 3), /expected B\*A\*V/);
  assert.throws(() => scoreAnswers(batch, { ...tokens, argmax: new Int32Array(3) }), /argmax has 3 values; expected B\*A/);
});

test("content scores read the answer token each row names: its gold cross-entropy and top probability; -1 gives NaN", () => {
  const batch = buildBatch(
    [{ instructionIds: [1], answerIds: [0, 2] }, { instructionIds: [1], answerIds: [1, 1] }, { instructionIds: [1], answerIds: [2] }],
    [0, 1, 2], resolveLayout({ promptLength: 1 }),
  );
  // V = 3; rows [B=3, A=2]; each position's probabilities chosen by hand
  const logits = Float32Array.of(
    Math.log(98), Math.log(1), Math.log(1), // row0 pos0: p = [.98, .01, .01] (a near-certain boundary token)
    Math.log(2), Math.log(3), Math.log(5), // row0 pos1: p = [.2, .3, .5]; gold 2
    Math.log(1), Math.log(7), Math.log(2), // row1 pos0: p = [.1, .7, .2]; gold 1
    Math.log(6), Math.log(3), Math.log(1), // row1 pos1: p = [.6, .3, .1]
    Math.log(1), Math.log(1), Math.log(2), // row2 pos0: p = [.25, .25, .5]
    0, 0, 0, // past row2's answer
  );
  const tokens = tokenScoresFromLogits(batch, logits, 3);
  const s = scoreAnswers(batch, tokens, Int32Array.of(1, 0, -1));
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  close(s.confidence[0], 0.98); // the first position: the boundary token
  close(s.contentLoss[0], -Math.log(0.5));
  close(s.contentConfidence[0], 0.5);
  close(s.contentLoss[1], -Math.log(0.7));
  close(s.contentConfidence[1], 0.7);
  assert.ok(Number.isNaN(s.contentLoss[2]) && Number.isNaN(s.contentConfidence[2]));
  // without content indices nothing is read
  assert.ok(scoreAnswers(batch, tokens).contentLoss.every(Number.isNaN));
  assert.throws(() => scoreAnswers(batch, tokens, Int32Array.of(2, 0, 0)), /past the row's 2 answer tokens/);
});
