/**
 * Remote runners (`skillscope runner --connect ws://HOST:PORT/ingest`) connected over WebSocket.
 * A run goes to an idle remote runner when one is connected, else to the fallback (a local worker).
 * Frames are the runner protocol's binary frames (codec.ts) in both directions, so the server
 * ingests a remote run exactly like a local one; activation batches are idempotent, so a run
 * resumed after a dropped connection neither loses nor duplicates them.
 */
import type { WebSocket } from "ws";
import { decodeFrame, encodeFrame } from "../../gpu-runner/runner/codec.js";
import type { RunHandle } from "../../gpu-runner/runner/host.js";
import { isTerminal, type RunnerEvent, type StartMessage, type TerminalEvent } from "../../gpu-runner/runner/protocol.js";
import type { Executor } from "./run-manager.js";

interface Job {
  sink: (ev: RunnerEvent) => void;
  finish: (ev: TerminalEvent) => void;
  lastSeq: number;
}

class RemoteRunner {
  readonly jobs = new Map<string, Job>();

  constructor(readonly ws: WebSocket, readonly label: string) {}

  run(start: StartMessage, sink: (ev: RunnerEvent) => void): RunHandle {
    let finish!: (ev: TerminalEvent) => void;
    const done = new Promise<TerminalEvent>((resolve) => (finish = resolve));
    this.jobs.set(start.runId, { sink, finish, lastSeq: -1 });
    this.ws.send(encodeFrame(start));
    return { runId: start.runId, done, cancel: () => this.ws.send(encodeFrame({ type: "cancel", runId: start.runId })) };
  }

  receive(data: Uint8Array): void {
    const msg = decodeFrame(data);
    if (!("seq" in msg)) return; // runners send events only, never commands
    const ev: RunnerEvent = msg;
    const job = this.jobs.get(ev.runId);
    if (!job) return; // a late event of a run this server already ended
    job.lastSeq = Math.max(job.lastSeq, ev.seq);
    job.sink(ev);
    if (isTerminal(ev)) {
      this.jobs.delete(ev.runId);
      job.finish(ev);
    }
  }

  /** The connection dropped: every job it held ends as a failed (resumable) run. */
  lost(): void {
    for (const [runId, job] of this.jobs) {
      const ev: TerminalEvent = { type: "error", runId, seq: job.lastSeq + 1, code: "WORKER_EXITED", message: `remote runner ${this.label} disconnected; resume the run to continue from its last checkpoint` };
      job.sink(ev);
      job.finish(ev);
    }
    this.jobs.clear();
  }
}

export class RemoteRunnerPool {
  private readonly runners = new Set<RemoteRunner>();

  /** Remote runners connected now. */
  get size(): number {
    return this.runners.size;
  }

  /** Serves one runner connection until it closes. */
  attach(ws: WebSocket, label: string): void {
    const runner = new RemoteRunner(ws, label);
    this.runners.add(runner);
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      try {
        if (!isBinary) throw new Error("text frame");
        runner.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (e) {
        ws.close(1007, `bad runner frame: ${(e as Error).message}`.slice(0, 120));
      }
    });
    ws.on("close", () => {
      this.runners.delete(runner);
      runner.lost();
    });
  }

  /** Sends a run to an idle remote runner, else to `fallback`. */
  executor(fallback: Executor): Executor {
    return (start, sink) => {
      const idle = [...this.runners].find((r) => r.jobs.size === 0);
      return idle ? idle.run(start, sink) : fallback(start, sink);
    };
  }

  /** Closes every runner connection (their runs end as failed, resumable). */
  close(): void {
    for (const r of this.runners) r.ws.close(1001, "server shutting down");
  }
}
