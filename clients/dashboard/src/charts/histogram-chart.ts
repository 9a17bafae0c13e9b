import uPlot from "uplot";
import { COLORS } from "./palette.js";
import { chartWidth, watchWidth } from "./size.js";

export interface HistogramSeries {
  label: string;
  /** [bins] counts */
  counts: readonly number[];
  color: string;
  /** Fill under the step line (use for one or two series; many filled series hide each other). */
  fill?: boolean;
}

export interface HistogramOptions {
  /** [bins + 1] bin edges, ascending; every series has one count per bin. */
  edges: readonly number[];
  series: readonly HistogramSeries[];
  xLabel: string;
  yLabel: string;
  /** Log-scale counts; empty bins then sit on the axis floor, below 1, so single neurons stay visible. */
  logY: boolean;
  /** Visible x interval; all bins by default. */
  xRange?: [number, number];
  height?: number;
}

/** Where empty bins sit on a log axis: below 1, so a bin of one neuron stands out from the floor. */
const LOG_FLOOR = 0.5;

/** A drawn histogram; call destroy() before dropping it. */
export interface HistogramChart {
  destroy(): void;
}

/** Step-line histograms on shared bin edges, overlaid, with a legend that toggles series. */
export function histogramChart(container: HTMLElement, options: HistogramOptions): HistogramChart {
  const height = options.height ?? 300;
  const bins = options.edges.length - 1;
  for (const s of options.series) {
    if (s.counts.length !== bins) throw new Error(`histogram "${s.label}" has ${s.counts.length} counts for ${bins} bins`);
  }
  // Stepped lines: x = edges; the last count repeats so the final bin gets its right edge.
  const x = [...options.edges];
  const ys = options.series.map((s) => {
    const y = s.counts.map((c) => (options.logY ? Math.max(c, LOG_FLOOR) : c));
    y.push(y[y.length - 1] ?? 0);
    return y;
  });
  // null: no bin under the cursor; the log floor stands for an empty bin.
  const countText = (v: number | null): string => (v === null ? "–" : options.logY && v <= LOG_FLOOR ? "0" : String(v));
  const plot = new uPlot(
    {
      width: chartWidth(container),
      height,
      scales: {
        x: { time: false, range: options.xRange ?? [options.edges[0]!, options.edges[bins]!] },
        y: options.logY
          ? { distr: 3, log: 10, range: (_u, _min, max) => [LOG_FLOOR, Math.max(10, max * 2)] }
          : { range: (_u, _min, max) => [0, Math.max(1, max) * 1.05] },
      },
      series: [
        { label: "bin from", value: (_u, v) => (v === null ? "–" : v.toFixed(3)) },
        ...options.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          fill: s.fill ? withAlpha(s.color, 0.25) : undefined,
          paths: uPlot.paths.stepped!({ align: 1 }),
          points: { show: false },
          value: (_u: uPlot, v: number | null) => countText(v),
        })),
      ],
      axes: [
        { label: options.xLabel, stroke: COLORS.axis, grid: { stroke: COLORS.grid } },
        {
          label: options.yLabel,
          stroke: COLORS.axis,
          grid: { stroke: COLORS.grid },
          size: 64,
          // Log axes label powers of ten only (and never the floor below 1).
          ...(options.logY ? { filter: (_u: uPlot, splits: number[]) => splits.map((v) => (v >= 1 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9 ? v : null)) } : {}),
        },
      ],
      cursor: { drag: { x: true, y: false } },
    },
    [x, ...ys],
    container,
  );
  const unwatch = watchWidth(container, (width) => plot.setSize({ width, height }));
  return {
    destroy() {
      unwatch();
      plot.destroy();
    },
  };
}

function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (hex) {
    const n = parseInt(hex[1]!, 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  return color.replace(/^rgb\((.*)\)$/, `rgba($1, ${alpha})`);
}
