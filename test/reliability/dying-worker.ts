/*
 * A runner worker that dies abruptly: the real worker entry, except that the thread exits (no
 * terminal event, like a crash or a terminate()) right after posting its DIE_AFTER-th training
 * progress event. Used by runner-faults.test.ts through HostOptions.workerUrl. Imported outside a
 * worker thread (e.g. by a test glob) it does nothing.
 */
import { parentPort } from "node:worker_threads";

export const DIE_AFTER = 8;

if (parentPort) {
  const port = parentPort;
  const post = port.postMessage.bind(port);
  let steps = 0;
  port.postMessage = ((value: unknown, transfer?: readonly ArrayBuffer[]) => {
    post(value, transfer as never);
    const ev = value as { type?: string; phase?: string };
    if (ev.type === "progress" && ev.phase === "training" && ++steps >= DIE_AFTER) process.exit(3);
  }) as typeof port.postMessage;
  await import("../../gpu-runner/runner/worker.js");
}
