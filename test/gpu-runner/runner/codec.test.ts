import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameError, decodeFrame, encodeFrame } from "../../../gpu-runner/runner/codec.js";
import { transferList, type ActivationsEvent, type CheckpointEvent, type ProgressEvent, type StartMessage } from "../../../gpu-runner/runner/protocol.js";

test("activations, checkpoint, progress and start survive a binary frame", () => {
  const big = new Float32Array(100);
  const act: ActivationsEvent = {
    type: "activations", runId: "r1", seq: 7, shard: 0, batchId: 3, layer: 2, sampleIdx: Int32Array.of(4, 5),
    positions: Int32Array.of(0, 1, 0, 1), positionKind: "soft", nPositions: 2, dFF: 3,
    data: Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5),
  };
  const ck: CheckpointEvent = {
    type: "checkpoint", runId: "r1", seq: 8, step: 5,
    checkpoint: {
      step: 5, totalSteps: 10, promptLength: 2, dModel: 2, prompt: big.subarray(1, 5), optimizer: { step: 5, m: Float32Array.of(1, 2, 3, 4), v: Float32Array.of(0, 0, 0, 1e-30) },
      epoch: 1, cursor: 3, epochRng: [1, 2, 3, 4294967295], best: null, evalsSinceBest: 0,
    },
  };
  const prog: ProgressEvent = { type: "progress", runId: "r1", seq: 9, phase: "training", step: 1, totalSteps: 2, epoch: 0.5, loss: NaN, lr: Infinity, tokensPerSec: 10, etaSec: -Infinity };
  const start: StartMessage = { type: "start", runId: "r1", model: { kind: "onnx", dir: "/models/gpt2", threads: 2, roots: ["/models"] }, rows: { train: [{ id: "a", instruction: "the film", answer: "yes" }], val: [] }, prompt: Float32Array.of(1, 2, 3, 4) };
  for (const msg of [act, ck, prog, start]) {
    const frame = encodeFrame(msg);
    const back = decodeFrame(frame);
    assert.deepEqual(back, msg);
  }
  const back = decodeFrame(encodeFrame(ck)) as CheckpointEvent;
  assert.ok(back.checkpoint.prompt instanceof Float32Array);
  assert.equal(back.checkpoint.prompt.byteLength, back.checkpoint.prompt.buffer.byteLength, "decoded arrays own their buffer");
  // a frame inside a larger buffer at an odd offset decodes the same
  const f = encodeFrame(act);
  const padded = new Uint8Array(f.length + 3);
  padded.set(f, 3);
  assert.deepEqual(decodeFrame(padded.subarray(3)), act);
});

test("malformed frames throw FrameError", () => {
  const good = encodeFrame({ type: "cancel", runId: "x" });
  assert.throws(() => decodeFrame(new Uint8Array(4)), FrameError);
  const badMagic = Uint8Array.from(good);
  badMagic[0] ^= 1;
  assert.throws(() => decodeFrame(badMagic), /magic/);
  assert.throws(() => decodeFrame(good.subarray(0, 10)), /runs past/);
  const act = encodeFrame({ type: "activations", runId: "r", seq: 0, shard: 0, batchId: 0, layer: 0, sampleIdx: Int32Array.of(1), positions: Int32Array.of(0), positionKind: "soft", nPositions: 1, dFF: 1, data: Float32Array.of(1) });
  assert.throws(() => decodeFrame(act.subarray(0, act.length - 8)), /runs past the frame/);
});

test("transferList takes whole-buffer arrays only, once each", () => {
  const own = new Float32Array(4);
  const shared = new Float32Array(8);
  const list = transferList({ a: own, b: [own, shared.subarray(2)], c: { d: Int32Array.of(1) } });
  assert.equal(list.length, 2);
  assert.ok(list.includes(own.buffer));
  assert.ok(!list.includes(shared.buffer));
});
