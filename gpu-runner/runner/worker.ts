/**
 * worker_thread entry: receives one `start`, `causal` or `probe` (and maybe `cancel`) from its parent, runs the job,
 * posts protocol events with their typed-array buffers transferred, then closes its port.
 */
import { parentPort } from "node:worker_threads";
import { runJob } from "./job.js";
import { transferList, type RunnerCommand, type RunnerEvent } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("gpu-runner/runner/worker.js must be started as a worker thread (see host.ts)");

const controller = new AbortController();
let started = false;

const send = (ev: RunnerEvent) => port.postMessage(ev, transferList(ev));

port.on("message", (msg: RunnerCommand) => {
  if (msg?.type === "cancel") {
    controller.abort();
  } else if (msg?.type === "start" && !started) {
    started = true;
    void runJob(msg, send, controller.signal).finally(() => port.close());
  } else if (msg?.type === "causal" && !started) {
    started = true;
    // loaded on demand: a worker loads only the kind of job it runs
    void import("./causal-job.js").then(({ runCausalJob }) => runCausalJob(msg, send, controller.signal)).finally(() => port.close());
  } else if (msg?.type === "probe" && !started) {
    started = true;
    void import("./probe-job.js").then(({ runProbeJob }) => runProbeJob(msg, send, controller.signal)).finally(() => port.close());
  } else {
    const runId = (msg as { runId?: string })?.runId ?? "";
    send({ type: "error", runId, seq: -1, code: "BAD_INPUT", message: `worker got ${started ? "a second start" : `unknown message type ${JSON.stringify((msg as { type?: unknown })?.type)}`}; a worker runs one job` });
  }
});
