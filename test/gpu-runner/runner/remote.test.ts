import { test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { decodeFrame, encodeFrame } from "../../../gpu-runner/runner/codec.js";
import { connectRemoteRunner } from "../../../gpu-runner/runner/remote.js";
import type { RunnerEvent, StartMessage } from "../../../gpu-runner/runner/protocol.js";
import { TINY, TINY_MODEL, tinyRows } from "../../fixtures/tiny-checkpoint.js";

test("a remote runner serves a run over WebSocket binary frames", async () => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  const port = (wss.address() as AddressInfo).port;
  const connected = new Promise<{ socket: WebSocket; auth: string | undefined }>((resolve) =>
    wss.once("connection", (socket, req) => resolve({ socket, auth: req.headers.authorization })));
  const runner = await connectRemoteRunner(`ws://127.0.0.1:${port}`, { token: "s3cret" });
  const { socket, auth } = await connected;
  assert.equal(auth, "Bearer s3cret");
  const events: RunnerEvent[] = [];
  const finished = new Promise<void>((resolve) => {
    socket.on("message", (data: Buffer) => {
      const ev = decodeFrame(new Uint8Array(data)) as RunnerEvent;
      events.push(ev);
      if (ev.type === "done" || (ev.type === "error" && ev.runId === "remote-1")) resolve();
    });
  });
  socket.send("not a frame");
  const start: StartMessage = {
    type: "start", runId: "remote-1", model: TINY_MODEL, rows: { train: tinyRows(16, 1), val: tinyRows(6, 2, "v") },
    layout: { promptLength: 4 }, train: { seed: 1, maxSteps: 4, batchSize: 4, evalEvery: 2 }, extract: { batchSize: 4 },
  };
  socket.send(encodeFrame(start));
  await finished;
  runner.close();
  await runner.closed;
  wss.close();
  assert.ok(events.some((e) => e.type === "error" && e.runId === "" && /text message/.test(e.message)));
  const run = events.filter((e) => e.runId === "remote-1");
  assert.deepEqual(run.map((e) => e.seq), run.map((_, i) => i));
  assert.equal(run.at(-1)!.type, "done");
  const acts = run.filter((e) => e.type === "activations");
  assert.equal(acts.length, 2 * TINY.nLayers);
  for (const a of acts) assert.ok(a.type === "activations" && a.data instanceof Float32Array && a.data.length === a.sampleIdx.length * 4 * TINY.dFF);
});
