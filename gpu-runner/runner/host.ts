/**
 * The one worker host. Runs one job (a training/extraction `start`, a `causal` experiment or a
 * `probe`) in a worker thread: sends the message, forwards every event to the sink, cancels on request (and
 * terminates the worker when it has not stopped within the grace period), and settles on the
 * terminal event. If the worker dies without one, the sink gets a synthesized WORKER_EXITED
 * `error` event and `done` rejects.
 *
 * A worker is terminated only as a last resort: terminating a thread while onnxruntime runs in it
 * can abort the whole process (a native Napi::Error). After its terminal event a worker ends by
 * itself once it has released its model; the grace timer terminates one that does not.
 */
import { Worker, type ResourceLimits } from "node:worker_threads";
import type { CausalOutcome } from "../causal/types.js";
import { RunnerError } from "../train/errors.js";
import { isTerminal, type CausalMessage, type ErrorEvent, type JobMessage, type RunnerEvent, type StatusEvent, type TerminalEvent } from "./protocol.js";

export interface HostOptions {
  /** Worker entry (default: the compiled worker.js beside this file). */
  readonly workerUrl?: URL;
  /** After cancel(), terminate the worker if it has not ended within this many ms (default 10000). */
  readonly cancelGraceMs?: number;
  readonly resourceLimits?: ResourceLimits;
}

export interface RunHandle {
  readonly runId: string;
  /**
   * Resolves with the final `done` or `error` event; rejects with a WORKER_EXITED RunnerError if the
   * worker dies, or with the sink's own error if the sink throws (the worker is then terminated).
   */
  readonly done: Promise<TerminalEvent>;
  /** Ask the worker to stop at its next microbatch or batch boundary (it emits a checkpoint and a CANCELLED error). */
  cancel(): void;
}

/**
 * `start` is the job message the worker expects: a protocol job for the default worker, or another
 * worker's own typed job (options.workerUrl); either way the worker answers with protocol events.
 */
export function startRunInWorker<J extends { readonly type: string; readonly runId: string } = JobMessage>(start: J, sink: (ev: RunnerEvent) => void, options: HostOptions = {}): RunHandle {
  const worker = new Worker(options.workerUrl ?? new URL("./worker.js", import.meta.url), { resourceLimits: options.resourceLimits });
  let lastSeq = -1;
  let terminal: TerminalEvent | null = null;
  let crash: Error | null = null;
  let cancelTimer: NodeJS.Timeout | undefined;
  let cancel = () => {};
  const grace = options.cancelGraceMs ?? 10000;
  /** Terminates the worker if it has not exited `grace` ms after the run ended. */
  const endWithin = () => {
    clearTimeout(cancelTimer);
    cancelTimer = setTimeout(() => void worker.terminate(), grace);
  };

  const done = new Promise<TerminalEvent>((resolve, reject) => {
    const synthesize = (code: ErrorEvent["code"], message: string): ErrorEvent => {
      const ev: ErrorEvent = { type: "error", runId: start.runId, seq: lastSeq + 1, code, message };
      terminal = ev;
      sink(ev);
      return ev;
    };
    worker.on("message", (ev: RunnerEvent) => {
      if (terminal) return;
      lastSeq = Math.max(lastSeq, ev.seq);
      try {
        sink(ev);
      } catch (e) {
        // a failing sink must not take the host process down: stop the run and report it to the caller
        terminal = { type: "error", runId: start.runId, seq: ev.seq, code: "INTERNAL", message: `sink failed: ${(e as Error).message}` };
        reject(e);
        worker.postMessage({ type: "cancel", runId: start.runId });
        endWithin();
        return;
      }
      if (isTerminal(ev)) {
        terminal = ev;
        resolve(ev);
        endWithin();
      }
    });
    worker.on("error", (e) => {
      crash = e;
    });
    worker.on("exit", (code) => {
      clearTimeout(cancelTimer);
      if (terminal) return;
      const why = crash ? `threw ${crash.message}` : `exited with code ${code}`;
      const ev = synthesize("WORKER_EXITED", `runner worker for run ${start.runId} ${why} before finishing`);
      reject(new RunnerError("WORKER_EXITED", ev.message));
    });
    // cloned, not transferred: the caller keeps its prompt / checkpoint arrays
    worker.postMessage(start);

    cancel = () => {
      if (terminal || cancelTimer) return;
      worker.postMessage({ type: "cancel", runId: start.runId });
      cancelTimer = setTimeout(() => {
        if (terminal) return;
        resolve(synthesize("CANCELLED", `run ${start.runId} did not stop within ${grace} ms of cancel; its worker was terminated`));
        void worker.terminate();
      }, grace);
    };
  });
  return { runId: start.runId, done, cancel: () => cancel() };
}

export interface CausalHostOptions extends HostOptions {
  readonly onStatus?: (ev: StatusEvent) => void;
  /** Aborting cancels the job (it ends with CANCELLED). */
  readonly signal?: AbortSignal;
}

/**
 * A causal job through the same host (grace-period termination, resource limits): resolves with
 * its outcome, rejects with the job's RunnerError (code and message of its `error` event).
 */
export async function runCausalInWorker(msg: CausalMessage, options: CausalHostOptions = {}): Promise<CausalOutcome> {
  const handle = startRunInWorker(msg, (ev) => (ev.type === "status" ? options.onStatus?.(ev) : undefined), options);
  const onAbort = () => handle.cancel();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) handle.cancel();
  try {
    const end = await handle.done;
    if (end.type === "error") throw new RunnerError(end.code, end.message);
    if (!end.summary.causal) throw new RunnerError("INTERNAL", "causal job finished without an outcome");
    return end.summary.causal;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}
