import uPlot from "uplot";
import { COLORS } from "./palette.js";
import { chartWidth, watchWidth } from "./size.js";

/** Pearson r of one neuron at each soft-token position: bars from 0, red above and blue below. */
export function positionChart(
  container: HTMLElement,
  options: { positions: readonly number[]; r: readonly number[]; metric: string },
): { destroy(): void } {
  const height = 260;
  const maxAbs = Math.max(0.1, ...options.r.map((v) => Math.abs(v)));
  const limit = Math.min(1, Math.ceil(maxAbs * 11) / 10);
  const plot = new uPlot(
    {
      width: chartWidth(container),
      height,
      scales: { x: { time: false, range: [options.positions[0]! - 0.6, options.positions[options.positions.length - 1]! + 0.6] }, y: { range: [-limit, limit] } },
      series: [
        { label: "position" },
        {
          label: `r with ${options.metric}`,
          stroke: COLORS.axis,
          fill: COLORS.positive,
          // uPlot applies per-bar fills only together with per-bar strokes (or no stroke).
          paths: uPlot.paths.bars!({
            size: [0.7, 40],
            disp: {
              fill: { unit: 3, values: (u: uPlot, seriesIdx: number) => signColors(u.data[seriesIdx] as number[]) },
              stroke: { unit: 3, values: (u: uPlot, seriesIdx: number) => signColors(u.data[seriesIdx] as number[]) },
            },
          }),
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? "–" : v.toFixed(3)),
        },
      ],
      axes: [
        { label: "soft-token position", stroke: COLORS.axis, grid: { show: false }, incrs: [1, 2, 5, 10], values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : "")) },
        { label: "Pearson r", stroke: COLORS.axis, grid: { stroke: COLORS.grid }, size: 60 },
      ],
      hooks: {
        drawAxes: [
          (u: uPlot) => {
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = "#000";
            ctx.lineWidth = devicePixelRatio;
            const zero = u.valToPos(0, "y", true);
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, zero);
            ctx.lineTo(u.bbox.left + u.bbox.width, zero);
            ctx.stroke();
            ctx.restore();
          },
        ],
      },
    },
    [[...options.positions], [...options.r]],
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

/** Red for r >= 0, blue below: the sign convention of every figure. */
function signColors(r: readonly number[]): string[] {
  return r.map((v) => (v < 0 ? COLORS.negative : COLORS.positive));
}
