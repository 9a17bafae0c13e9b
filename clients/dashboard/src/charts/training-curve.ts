import uPlot from "uplot";
import { COLORS } from "./palette.js";
import { chartWidth, watchWidth } from "./size.js";

/** One progress report, as the `trainingProgress` subscription (or a stored run event) carries it. */
export interface CurvePoint {
  step: number;
  loss: number;
  valLoss?: number | null;
  valAccuracy?: number | null;
}

/**
 * Live training curve: training loss and validation loss (left axis) and validation accuracy
 * (right axis, [0, 1]) against the optimizer step. Points arrive one by one; reports of a step
 * already drawn (a validation report after the training one, or the latest-state replay of a
 * subscription after the stored history) merge into it: later non-null values win.
 */
export class TrainingCurve {
  private readonly steps: number[] = [];
  private readonly loss: (number | null)[] = [];
  private readonly valLoss: (number | null)[] = [];
  private readonly valAccuracy: (number | null)[] = [];
  private readonly plot: uPlot;
  private readonly unwatch: () => void;

  constructor(container: HTMLElement) {
    this.plot = new uPlot(
      {
        width: chartWidth(container),
        height: 300,
        scales: { x: { time: false }, acc: { range: [0, 1] } },
        series: [
          { label: "step" },
          { label: "train loss", stroke: COLORS.loss, width: 2, scale: "loss", points: { show: false } },
          { label: "val loss", stroke: COLORS.valLoss, width: 2, dash: [6, 4], scale: "loss", spanGaps: true },
          { label: "val accuracy", stroke: COLORS.accuracy, width: 2, scale: "acc", spanGaps: true },
        ],
        axes: [
          { label: "optimizer step", stroke: COLORS.axis, grid: { stroke: COLORS.grid } },
          { label: "cross-entropy loss", scale: "loss", stroke: COLORS.axis, grid: { stroke: COLORS.grid }, size: 60 },
          { label: "validation accuracy", scale: "acc", side: 1, stroke: COLORS.axis, grid: { show: false }, size: 60 },
        ],
        legend: { live: true },
      },
      [[], [], [], []],
      container,
    );
    this.unwatch = watchWidth(container, (width) => this.plot.setSize({ width, height: 300 }));
  }

  /** Number of distinct points drawn. */
  get size(): number {
    return this.steps.length;
  }

  /** Adds reports and redraws once (a stored history of thousands of steps is one redraw). */
  add(points: readonly CurvePoint[]): void {
    for (const point of points) this.merge(point);
    if (points.length > 0) this.plot.setData([this.steps, this.loss, this.valLoss, this.valAccuracy]);
  }

  private merge(point: CurvePoint): void {
    // Keep the series sorted by step (events arrive in order; a replay may not).
    let at = this.steps.length;
    while (at > 0 && this.steps[at - 1]! > point.step) at--;
    if (at > 0 && this.steps[at - 1] === point.step) {
      const i = at - 1;
      this.loss[i] = point.loss;
      this.valLoss[i] = point.valLoss ?? this.valLoss[i]!;
      this.valAccuracy[i] = point.valAccuracy ?? this.valAccuracy[i]!;
    } else {
      this.steps.splice(at, 0, point.step);
      this.loss.splice(at, 0, point.loss);
      this.valLoss.splice(at, 0, point.valLoss ?? null);
      this.valAccuracy.splice(at, 0, point.valAccuracy ?? null);
    }
  }

  /** The points drawn, column-wise, for the JSON download. */
  data(): { step: number[]; loss: (number | null)[]; valLoss: (number | null)[]; valAccuracy: (number | null)[] } {
    return { step: [...this.steps], loss: [...this.loss], valLoss: [...this.valLoss], valAccuracy: [...this.valAccuracy] };
  }

  destroy(): void {
    this.unwatch();
    this.plot.destroy();
  }
}
