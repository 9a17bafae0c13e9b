/**
 * A runner process serving a remote server over WebSocket (`skillscope runner --connect URL`):
 * the server sends `start` / `cancel` as binary frames (codec.ts); each start runs in its own
 * worker thread and every event goes back as a binary frame. Closing the socket cancels the jobs.
 */
import WebSocket from "ws";
import { decodeFrame, encodeFrame, FrameError } from "./codec.js";
import { startRunInWorker, type HostOptions, type RunHandle } from "./host.js";
import type { ErrorEvent, RunnerMessage } from "./protocol.js";

export interface RemoteRunnerOptions extends HostOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** This machine's copy of the model: replaces the server's model folder in every start. */
  readonly modelDir?: string;
  readonly threads?: number;
  readonly device?: "cpu" | "cuda";
  readonly compute?: "f32" | "f16";
}

export interface RemoteRunner {
  /** Resolves when the socket has closed (jobs cancelled). */
  readonly closed: Promise<void>;
  close(): void;
}

/** Connects to url and serves runs until the socket closes; rejects if the connection cannot open. */
export function connectRemoteRunner(url: string, options: RemoteRunnerOptions = {}): Promise<RemoteRunner> {
  const ws = new WebSocket(url, { headers: options.token ? { authorization: `Bearer ${options.token}` } : {} });
  ws.binaryType = "nodebuffer";
  const jobs = new Map<string, RunHandle>();
  const send = (msg: RunnerMessage) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(msg));
  };
  const closed = new Promise<void>((resolve) => {
    ws.on("close", () => {
      for (const job of jobs.values()) job.cancel();
      resolve();
    });
  });
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    let msg;
    try {
      if (!isBinary) throw new FrameError("text message; runner frames are binary");
      msg = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      const err: ErrorEvent = { type: "error", runId: "", seq: -1, code: "BAD_INPUT", message: (e as Error).message };
      send(err);
      return;
    }
    if (msg.type === "start") {
      if (jobs.has(msg.runId)) {
        send({ type: "error", runId: msg.runId, seq: -1, code: "BAD_INPUT", message: `run ${msg.runId} is already running on this runner` });
        return;
      }
      const start = options.modelDir === undefined ? msg : { ...msg, model: { kind: "onnx" as const, dir: options.modelDir, threads: options.threads, device: options.device, compute: options.compute } };
      const job = startRunInWorker(start, (ev) => send(ev), options);
      jobs.set(msg.runId, job);
      // the sink already got the terminal (or synthesized) error event
      job.done.catch(() => undefined).finally(() => jobs.delete(msg.runId));
    } else if (msg.type === "cancel") {
      jobs.get(msg.runId)?.cancel();
    } else {
      send({ type: "error", runId: (msg as { runId?: string }).runId ?? "", seq: -1, code: "BAD_INPUT", message: `runner accepts start and cancel, got ${msg.type}` });
    }
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ closed, close: () => ws.close() }));
    ws.once("error", (e) => reject(new Error(`cannot connect runner to ${url}: ${e.message}`)));
  });
}
