/**
 * Test worker: the real runner worker, plus a timer that kills the thread with process.exit(3)
 * shortly after `start` (a crash the host must report). Does nothing when not in a worker.
 */
import { parentPort } from "node:worker_threads";

if (parentPort) {
  await import("../../../gpu-runner/runner/worker.js");
  parentPort.on("message", (msg: { type?: string }) => {
    if (msg?.type === "start") setTimeout(() => process.exit(3), 150);
  });
}
