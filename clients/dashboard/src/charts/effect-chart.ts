import { h } from "../dom.js";
import type { Interval } from "../queries.js";
import { COLORS } from "./palette.js";

/** One measure's change under ablation: the top-K set and the random control sets, with 95% intervals. */
export interface EffectRow {
  /** Machine name, e.g. "accuracy" (data attributes). */
  key: string;
  /** Axis title, e.g. "Δ accuracy". */
  title: string;
  topK: Interval;
  random: Interval;
  /** Each random set's own change (dots). */
  draws: readonly number[];
  /** Formats a value for the labels. */
  format: (v: number) => string;
}

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const ROW = 96;
const LEFT = 150;
const RIGHT = 24;

/**
 * Dot-and-whisker chart, one panel per measure (own x scale, zero line dashed): the ablated set's
 * change and the random sets' mean change with their 95% intervals, each random set a faint dot.
 */
export function effectChart(container: HTMLElement, rows: readonly EffectRow[]): SVGSVGElement {
  const svg = el("svg", { viewBox: `0 0 ${WIDTH} ${ROW * rows.length + 8}`, role: "img", "aria-label": "changes under ablation", width: "100%" });
  rows.forEach((row, i) => svg.append(panel(row, i * ROW)));
  container.replaceChildren(svg);
  container.append(
    h(
      "p",
      { class: "muted legend-line" },
      h("span", { class: "swatch", style: `background:${COLORS.accuracy}` }),
      " top-K neurons ablated   ",
      h("span", { class: "swatch", style: `background:${COLORS.loss}` }),
      " random neurons of the same layers (mean of the sets; dots: each set)   — bars: 95% intervals",
    ),
  );
  return svg;
}

function panel(row: EffectRow, y0: number): SVGGElement {
  const values = [0, ...row.draws, ...[row.topK, row.random].flatMap((i) => [i.estimate, i.low, i.high])].filter((v): v is number => v !== null && Number.isFinite(v));
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
  lo -= pad;
  hi += pad;
  const x = (v: number) => LEFT + ((v - lo) / (hi - lo)) * (WIDTH - LEFT - RIGHT);
  const g = el("g", { "data-measure": row.key });
  const axisY = y0 + 76;
  g.append(
    text(8, y0 + 16, row.title, { "font-weight": "600" }),
    el("line", { x1: x(0), x2: x(0), y1: y0 + 20, y2: axisY, stroke: COLORS.axis, "stroke-dasharray": "3 3", "stroke-width": 1 }),
    el("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: axisY, y2: axisY, stroke: "#bbb", "stroke-width": 1 }),
    ...ticks([lo + pad, 0, hi - pad], x).map((v) => text(x(v), axisY + 14, row.format(v), { "text-anchor": "middle", fill: "#5f6670" })),
  );
  for (const d of row.draws) g.append(el("circle", { cx: x(d), cy: y0 + 58, r: 2.5, fill: COLORS.loss, "fill-opacity": 0.3 }));
  g.append(interval(row, "topK", row.topK, y0 + 34, x, COLORS.accuracy, "top-K ablated"), interval(row, "random", row.random, y0 + 58, x, COLORS.loss, `random (${row.draws.length} sets)`));
  return g;
}

/** Zero first, then the ends of the data, each only where its label cannot overlap one already placed. */
function ticks(candidates: readonly number[], x: (v: number) => number): number[] {
  const placed: number[] = [];
  for (const v of [candidates[1]!, candidates[0]!, candidates[2]!]) {
    if (placed.every((p) => Math.abs(x(p) - x(v)) > 70)) placed.push(v);
  }
  return placed;
}

function interval(row: EffectRow, which: string, i: Interval, y: number, x: (v: number) => number, color: string, label: string): SVGGElement {
  const g = el("g", { "data-interval": `${row.key}-${which}`, "data-estimate": i.estimate ?? "", "data-low": i.low ?? "", "data-high": i.high ?? "" });
  g.append(text(LEFT - 8, y + 4, label, { "text-anchor": "end", fill: "#5f6670" }));
  if (i.estimate === null) return g;
  if (i.low !== null && i.high !== null) {
    g.append(
      el("line", { x1: x(i.low), x2: x(i.high), y1: y, y2: y, stroke: color, "stroke-width": 2.5 }),
      el("line", { x1: x(i.low), x2: x(i.low), y1: y - 5, y2: y + 5, stroke: color, "stroke-width": 2 }),
      el("line", { x1: x(i.high), x2: x(i.high), y1: y - 5, y2: y + 5, stroke: color, "stroke-width": 2 }),
    );
  }
  g.append(el("circle", { cx: x(i.estimate), cy: y, r: 5, fill: color }));
  const right = x(i.estimate) > (WIDTH + LEFT) / 2;
  g.append(text(x(i.estimate) + (right ? -9 : 9), y - 7, row.format(i.estimate), { "text-anchor": right ? "end" : "start", fill: color }));
  return g;
}

function text(x: number, y: number, content: string, attrs: Record<string, string> = {}): SVGTextElement {
  const t = el("text", { x, y, "font-size": 12, ...attrs });
  t.textContent = content;
  return t;
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}
