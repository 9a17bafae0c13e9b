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
  /** Dash pattern of the line, e.g. [6, 4]. */
  dash?: number[];
}

/** A shaded band between two count curves (e.g. a null expectation ± 2 sd). */
export interface HistogramBand {
  label: string;
  /** [bins] each */
  lower: readonly number[];
  upper: readonly number[];
  color: string;
}

/** A vertical line at x (e.g. a chance threshold of r). */
export interface HistogramMarker {
  x: number;
  label: string;
  color: string;
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
  band?: HistogramBand;
  /** Drawn as dashed vertical lines; the container's data-markers attribute lists the x values drawn. */
  markers?: readonly HistogramMarker[];
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
  const band = options.band;
  const curves = [...options.series, ...(band ? [{ label: band.label, counts: band.upper }, { label: band.label, counts: band.lower }] : [])];
  for (const s of curves) {
    if (s.counts.length !== bins) throw new Error(`histogram "${s.label}" has ${s.counts.length} counts for ${bins} bins`);
  }
  // Stepped lines: x = edges; the last count repeats so the final bin gets its right edge.
  const x = [...options.edges];
  const ys = curves.map((s) => {
    const y = s.counts.map((c) => (options.logY ? Math.max(c, LOG_FLOOR) : c));
    y.push(y[y.length - 1] ?? 0);
    return y;
  });
  const stepped = uPlot.paths.stepped!({ align: 1 });
  const bandSeries: uPlot.Series[] = band
    ? [
        { label: `${band.label} (upper)`, stroke: withAlpha(band.color, 0.5), width: 0.5, paths: stepped, points: { show: false }, value: (_u, v) => countText(v) },
        { label: `${band.label} (lower)`, stroke: withAlpha(band.color, 0.5), width: 0.5, paths: stepped, points: { show: false }, value: (_u, v) => countText(v) },
      ]
    : [];
  const upperIdx = options.series.length + 1;
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
          dash: s.dash,
          paths: stepped,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => countText(v),
        })),
        ...bandSeries,
      ],
      bands: band ? [{ series: [upperIdx, upperIdx + 1], fill: withAlpha(band.color, 0.18) }] : undefined,
      hooks: options.markers?.length ? { draw: [(u: uPlot) => drawMarkers(u, container, options.markers!)] } : undefined,
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

/** Dashed vertical lines with their labels at the top of the plot area. */
function drawMarkers(u: uPlot, container: HTMLElement, markers: readonly HistogramMarker[]): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const drawn: number[] = [];
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
  ctx.lineWidth = 1.5 * devicePixelRatio;
  ctx.font = `${11 * devicePixelRatio}px sans-serif`;
  ctx.textBaseline = "top";
  for (const m of markers) {
    const px = u.valToPos(m.x, "x", true);
    if (px < left || px > left + width) continue;
    ctx.strokeStyle = m.color;
    ctx.fillStyle = m.color;
    ctx.beginPath();
    ctx.moveTo(px, top);
    ctx.lineTo(px, top + height);
    ctx.stroke();
    // Labels sit beside their line, on the side with room for them.
    const room = ctx.measureText(m.label).width + 8 * devicePixelRatio;
    const leftSide = m.x < 0 ? px - room >= left : px + room > left + width;
    ctx.textAlign = leftSide ? "right" : "left";
    ctx.fillText(m.label, px + (leftSide ? -4 : 4) * devicePixelRatio, top + 4 * devicePixelRatio);
    drawn.push(m.x);
  }
  ctx.restore();
  container.dataset.markers = JSON.stringify(drawn);
}

function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (hex) {
    const n = parseInt(hex[1]!, 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  return color.replace(/^rgb\((.*)\)$/, `rgba($1, ${alpha})`);
}
