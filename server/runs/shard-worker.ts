/**
 * worker_thread entry for one shard job (see shard-job.ts): receives the `shard` message (and maybe
 * `cancel`), runs it, posts protocol events with their buffers transferred, then closes its port.
 */
import { parentPort } from "node:worker_threads";
import { transferList, type RunnerEvent } from "../../gpu-runner/runner/protocol.js";
import { runShardJob, type ShardJob } from "./shard-job.js";

const port = parentPort;
if (!port) throw new Error("server/runs/shard-worker.js must be started as a worker thread");

const controller = new AbortController();
let started = false;
const send = (ev: RunnerEvent) => port.postMessage(ev, transferList(ev));

port.on("message", (msg: ShardJob | { type: "cancel"; runId: string }) => {
  if (msg?.type === "cancel") controller.abort();
  else if (msg?.type === "shard" && !started) {
    started = true;
    void runShardJob(msg, send, controller.signal).finally(() => port.close());
  } else {
    send({ type: "error", runId: (msg as { runId?: string })?.runId ?? "", seq: -1, code: "BAD_INPUT", message: `shard worker got ${started ? "a second job" : `message type ${JSON.stringify((msg as { type?: unknown })?.type)}`}; it runs one shard job` });
  }
});

