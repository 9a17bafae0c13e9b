import { formatNumber } from "../format.js";
import type { LayerNullHistogram, Significance } from "../queries.js";
import { histogramChart, type HistogramChart, type HistogramMarker } from "./histogram-chart.js";
import { COLORS } from "./palette.js";

/**
 * One layer's observed r histogram against the permutation null: the expected count per bin
 * (dashed), a ±2 sd band (Poisson, sd = sqrt(expected)), and the family-wise chance level
 * ±maxAbsR999 (plus the Benjamini-Hochberg threshold when one exists). `layer` null picks the
 * layer with the most (position, neuron) pairs beyond the chance level. Writes the summary line.
 */
export function nullBandFigure(box: HTMLElement, summary: HTMLElement, s: Significance, layer: number | null): HistogramChart {
  const chosen = (layer === null ? mostAboveChance(s) : s.layers.find((l) => l.layer === layer)) ?? s.layers[0]!;
  const lower = chosen.expectedNull.map((e) => Math.max(0, e - 2 * Math.sqrt(e)));
  const upper = chosen.expectedNull.map((e) => e + 2 * Math.sqrt(e));
  const t = s.maxAbsR999;
  const markers: HistogramMarker[] = [
    { x: -t, label: `−${t.toFixed(3)}`, color: COLORS.axis },
    { x: t, label: `chance max |r| ${t.toFixed(3)}`, color: COLORS.axis },
  ];
  if (s.bhAbsRThreshold !== null) {
    markers.push({ x: -s.bhAbsRThreshold, label: "", color: COLORS.accuracy }, { x: s.bhAbsRThreshold, label: `BH q=${s.q}`, color: COLORS.accuracy });
  }
  const beyond = countBeyond(chosen, t);
  summary.textContent =
    `Layer ${chosen.layer}: ${beyond} of ${formatNumber(sum(chosen.observed))} (position, neuron) pairs have |r| above the chance level ${t.toFixed(3)} ` +
    `(99.9th percentile of the largest |r| over all ${formatNumber(s.tests)} tests, ${s.permutations} permutations, ${s.samples} samples); ` +
    `${s.discoveries} (position, neuron) ${s.discoveries === 1 ? "discovery" : "discoveries"} (Benjamini-Hochberg, FDR q = ${s.q}); ` +
    `${s.neuronDiscoveries} of ${formatNumber(s.neuronTests)} neurons significant on their position-corrected p (Sidak over positions, then Benjamini-Hochberg).`;
  box.dataset.layer = String(chosen.layer);
  box.dataset.maxAbsR999 = String(t);
  const reach = Math.min(1, Math.max(0.2, t * 1.6, ...populated(chosen)));
  return histogramChart(box, {
    edges: chosen.edges,
    series: [
      { label: `observed, layer ${chosen.layer}`, counts: chosen.observed, color: COLORS.loss, fill: true },
      { label: "expected if no neuron carried the metric", counts: chosen.expectedNull, color: "#555555", dash: [6, 4] },
    ],
    band: { label: "null ±2 sd", lower, upper, color: "#888888" },
    markers,
    xLabel: `Pearson r with ${s.metric} (every position and neuron of the layer)`,
    yLabel: "pairs (log scale)",
    logY: true,
    xRange: [-reach, reach],
  });
}

function mostAboveChance(s: Significance): LayerNullHistogram | undefined {
  let best: LayerNullHistogram | undefined;
  let most = -1;
  for (const l of s.layers) {
    const n = countBeyond(l, s.maxAbsR999);
    if (n > most) [best, most] = [l, n];
  }
  return best;
}

/** Pairs in bins lying wholly beyond ±t. */
function countBeyond(l: LayerNullHistogram, t: number): number {
  let n = 0;
  l.observed.forEach((c, i) => {
    if (l.edges[i]! >= t || l.edges[i + 1]! <= -t) n += c;
  });
  return n;
}

/** |edge| of every non-empty observed bin, rounded up to 0.1. */
function populated(l: LayerNullHistogram): number[] {
  const out: number[] = [];
  l.observed.forEach((c, i) => {
    if (c > 0) out.push(Math.ceil(Math.max(Math.abs(l.edges[i]!), Math.abs(l.edges[i + 1]!)) * 10 - 1e-9) / 10);
  });
  return out;
}

function sum(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0);
}
