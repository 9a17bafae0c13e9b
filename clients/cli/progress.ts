/**
 * How `run` shows a live run on stderr: a progress bar per phase on a terminal (cli-progress),
 * plain timestamped lines otherwise (logs, CI), so stdout stays clean for --json.
 */
import cliProgress from "cli-progress";

/** One progress report, as the trainingProgress subscription sends it. */
export interface ProgressReport {
  phase: string;
  step: number;
  /** Steps (training) or batches (extraction) of the phase, when the runner reports it. */
  totalSteps?: number | null;
  loss: number;
  valLoss?: number | null;
  valAccuracy?: number | null;
  etaSec?: number | null;
}

export interface ProgressView {
  status(status: string, error?: string | null): void;
  progress(report: ProgressReport): void;
  /** A one-line notice (e.g. the progress stream failed). */
  warn(message: string): void;
  stop(): void;
}

/** `totalSteps`: optimizer steps of training (the bar's end); extraction bars end at its ETA. */
export function progressView(options: { tty: boolean; totalSteps: number; stream?: NodeJS.WritableStream }): ProgressView {
  const stream = options.stream ?? process.stderr;
  return options.tty ? new BarView(stream, options.totalSteps) : new LineView(stream);
}

const fmt = (x: number | null | undefined, digits = 4) => (x === null || x === undefined ? "-" : x.toFixed(digits));

class BarView implements ProgressView {
  private bar: cliProgress.SingleBar | undefined;
  private phase = "";
  private phaseStart = 0;
  private lastVal = { loss: "-", acc: "-" };

  constructor(private readonly stream: NodeJS.WritableStream, private readonly totalSteps: number) {}

  status(status: string, error?: string | null): void {
    this.endBar();
    this.stream.write(`run ${status.toLowerCase()}${error ? `: ${error}` : ""}\n`);
  }

  progress(r: ProgressReport): void {
    if (r.phase !== this.phase) {
      this.endBar();
      this.phase = r.phase;
      this.phaseStart = Date.now();
      this.bar = new cliProgress.SingleBar(
        { stream: this.stream, format: `${r.phase.padEnd(10)} |{bar}| {value}/{total} loss {loss} val {vloss} acc {acc} eta {runnerEta}`, hideCursor: null },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total(r), r.step, this.payload(r));
    }
    if (r.valLoss != null) this.lastVal = { loss: fmt(r.valLoss), acc: fmt(r.valAccuracy, 3) };
    this.bar!.setTotal(this.total(r));
    this.bar!.update(r.step, this.payload(r));
  }

  warn(message: string): void {
    this.endBar();
    this.stream.write(`${message}\n`);
  }

  stop(): void {
    this.endBar();
  }

  /** The runner's total; else, training: the configured steps, other phases: steps done plus those the ETA implies. */
  private total(r: ProgressReport): number {
    if (r.totalSteps != null) return Math.max(r.totalSteps, r.step);
    if (r.phase === "training") return Math.max(this.totalSteps, r.step);
    const elapsed = (Date.now() - this.phaseStart) / 1000;
    if (r.etaSec == null || r.step === 0 || elapsed <= 0) return Math.max(r.step, 1);
    return r.step + Math.round((r.etaSec * r.step) / elapsed);
  }

  private payload(r: ProgressReport): object {
    return { loss: fmt(r.loss), vloss: this.lastVal.loss, acc: this.lastVal.acc, runnerEta: r.etaSec == null ? "-" : `${Math.round(r.etaSec)}s` };
  }

  private endBar(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.phase = "";
  }
}

/** At most one line a second per phase, plus every validation and every phase change. */
class LineView implements ProgressView {
  private phase = "";
  private lastLine = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  status(status: string, error?: string | null): void {
    this.line(`status ${status.toLowerCase()}${error ? `: ${error}` : ""}`);
  }

  progress(r: ProgressReport): void {
    const now = Date.now();
    const changed = r.phase !== this.phase;
    if (!changed && r.valLoss == null && now - this.lastLine < 1000) return;
    this.phase = r.phase;
    this.lastLine = now;
    const val = r.valLoss != null ? ` val_loss ${fmt(r.valLoss)} val_acc ${fmt(r.valAccuracy, 3)}` : "";
    const eta = r.etaSec != null ? ` eta ${Math.round(r.etaSec)}s` : "";
    const of = r.totalSteps != null ? `/${r.totalSteps}` : "";
    this.line(`${r.phase} step ${r.step}${of} loss ${fmt(r.loss)}${val}${eta}`);
  }

  warn(message: string): void {
    this.line(message);
  }

  stop(): void {}

  private line(text: string): void {
    this.stream.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
  }
}
