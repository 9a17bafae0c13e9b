/**
 * Runs one causal job in a worker thread (runner/worker.js) and resolves with its outcome.
 * Rejects with the job's RunnerError (code and message from its `error` event) or WORKER_EXITED.
 */
import { Worker } from "node:worker_threads";
import { RunnerError } from "../train/errors.js";
import type { CausalMessage, RunnerEvent, StatusEvent } from "../runner/protocol.js";
import type { CausalOutcome } from "./types.js";

export interface CausalWorkerOptions {
  /** Worker entry (default: the compiled runner/worker.js). */
  readonly workerUrl?: URL;
  readonly onStatus?: (ev: StatusEvent) => void;
  /** Aborting cancels the job (it ends with CANCELLED). */
  readonly signal?: AbortSignal;
}

export function runCausalInWorker(msg: CausalMessage, options: CausalWorkerOptions = {}): Promise<CausalOutcome> {
  const worker = new Worker(options.workerUrl ?? new URL("../runner/worker.js", import.meta.url));
  return new Promise<CausalOutcome>((resolve, reject) => {
    let settled = false;
    let crash: Error | undefined;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      f();
      void worker.terminate();
    };
    const onAbort = () => worker.postMessage({ type: "cancel", runId: msg.runId });
    options.signal?.addEventListener("abort", onAbort, { once: true });
    worker.on("message", (ev: RunnerEvent) => {
      if (ev.type === "status") options.onStatus?.(ev);
      else if (ev.type === "error") settle(() => reject(new RunnerError(ev.code, ev.message)));
      else if (ev.type === "done") {
        const causal = ev.summary.causal;
        settle(() => (causal ? resolve(causal) : reject(new RunnerError("INTERNAL", "causal job finished without an outcome"))));
      }
    });
    worker.on("error", (e) => (crash = e));
    worker.on("exit", (code) => settle(() => reject(new RunnerError("WORKER_EXITED", `causal worker for ${msg.runId} ${crash ? `threw ${crash.message}` : `exited with code ${code}`} before finishing`))));
    worker.postMessage(msg);
    if (options.signal?.aborted) onAbort();
  });
}
