/**
 * A stand-in for the GPU runner, plugged into the real run manager as its executor: it holds a
 * started run open and sends the protocol events the test asks for, so they travel the server's
 * real path (run ingest -> store -> live bridge -> GraphQL subscriptions). Cancelling it (the
 * server closing) ends the run with a CANCELLED error, as a real runner does.
 */
import type { EventBody, RunnerEvent, StartMessage, TerminalEvent } from "../../../gpu-runner/runner/protocol.js";
import type { RunHandle } from "../../../gpu-runner/runner/host.js";

export class HeldRunner {
  private sink: ((ev: RunnerEvent) => void) | undefined;
  private runId = "";
  private seq = 0;
  private finish: ((ev: TerminalEvent) => void) | undefined;
  private markStarted!: (runId: string) => void;
  /** Resolves with the run id once the run manager has started a run on this runner. */
  readonly started = new Promise<string>((resolve) => (this.markStarted = resolve));

  /** The run manager's executor. */
  readonly executor = (start: StartMessage, sink: (ev: RunnerEvent) => void): RunHandle => {
    this.sink = sink;
    this.runId = start.runId;
    const done = new Promise<TerminalEvent>((resolve) => (this.finish = resolve));
    this.markStarted(start.runId);
    return {
      runId: start.runId,
      done,
      cancel: () => this.finish?.({ type: "error", runId: this.runId, seq: this.seq++, code: "CANCELLED", message: "cancelled by the server" }),
    };
  };

  /** Sends one event of the started run, numbered like a runner numbers them. */
  send(body: EventBody): void {
    if (!this.sink) throw new Error("no run has started on this runner yet");
    this.sink({ ...body, runId: this.runId, seq: this.seq++ } as RunnerEvent);
  }
}
