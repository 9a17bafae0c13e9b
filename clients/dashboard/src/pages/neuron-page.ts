import { histogramChart, type HistogramSeries } from "../charts/histogram-chart.js";
import { ramp } from "../charts/palette.js";
import { positionChart } from "../charts/position-chart.js";
import { selectControl } from "../components/controls.js";
import { figure } from "../components/figure.js";
import { sortableTable } from "../components/sortable-table.js";
import { h, replaceChildren } from "../dom.js";
import { neuronId } from "../../../../gpu-runner/neuron-id.js";
import { formatNumber, formatPValue, formatR } from "../format.js";
import { query } from "../graphql.js";
import {
  activationsWithMetricRequest,
  neuronRequest,
  runRequest,
  serverLimitsRequest,
  type ExtremalSample,
  type NeuronDetail,
  type ReadingChoice,
} from "../queries.js";
import { neuronHref, runHref } from "../router.js";
import { probePanel } from "./neuron-probe.js";
import { splitByMetric } from "../split-by-metric.js";
import type { Crumbs, Page } from "./page.js";

const EXTREMAL_K = 10;
const ACTIVATION_BINS = 40;
const TWO_GROUP_COLORS = ["#2166AC", "#C0392B"];

interface NeuronState {
  metric: string;
  /** Default (position null, not max): the neuron's best position for the metric, the one that ranked it. */
  reading: ReadingChoice;
}

/** One neuron: r per soft-token position, activation histogram by metric value, extremal samples. */
export function neuronPage(
  root: HTMLElement,
  target: { runId: string; layer: number; index: number; metric?: string },
  setCrumbs: (crumbs: Crumbs) => void,
): Page {
  const { runId, layer, index } = target;
  const id = neuronId(layer, index);
  const charts: { destroy(): void }[] = [];
  let disposed = false;
  let generation = 0;
  let disposeProbe = (): void => {};
  setCrumbs([
    ["runs", "#/"],
    [`run ${runId}`, runHref(runId)],
    [id, neuronHref(runId, layer, index, target.metric)],
  ]);
  const heading = h("section", { class: "run-header" }, h("h1", {}, `Neuron ${id}`, h("span", { class: "muted" }, `run ${runId}`)));
  const controls = h("div", { class: "controls" });
  const positions = figure({
    name: `run-${runId}-${id}-r-by-position`,
    title: "r per soft-token position",
    caption: "Pearson r of this neuron's activation with the metric at each soft-token position.",
  });
  const histogram = figure({
    name: `run-${runId}-${id}-activation-histogram`,
    title: "Activations by metric value",
    caption: "Histogram of the neuron's activation over the validation samples, one series per value of the metric.",
  });
  const extremal = figure({
    name: `run-${runId}-${id}-extremal-samples`,
    title: "Extremal samples",
    caption: `The ${EXTREMAL_K} validation samples with the highest and the lowest activation, with the model's answers and the samples' metrics.`,
  });
  const figures = [positions, histogram, extremal];
  replaceChildren(root, heading, controls, ...figures.map((f) => f.element));

  const destroyCharts = (): void => {
    for (const c of charts.splice(0)) c.destroy();
  };
  const failAll = (error: Error): void => {
    if (!disposed) for (const f of figures) f.showMessage("error", error.message);
  };

  const load = (state: NeuronState, maxPageSize: number): void => {
    const current = ++generation;
    const stale = (): boolean => disposed || current !== generation;
    destroyCharts();
    for (const f of figures) f.showMessage("info", "loading…");
    const request = neuronRequest(runId, layer, index, state.metric, EXTREMAL_K, state.reading, ACTIVATION_BINS);
    query(request)
      .then((data) => {
        if (stale()) return;
        const n = data.neuron;
        positions.setData(request, { correlations: n.correlations });
        renderPositions(n.correlations, n.score, state.metric);
        extremal.setData(request, { high: n.high, low: n.low });
        replaceChildren(
          extremal.body,
          h("p", { class: "muted", "data-role": "reading" }, readingText(n.activationHistogram, state.metric)),
          h("h3", {}, "Highest activations"),
          sampleTable(n.high, "high"),
          h("h3", {}, "Lowest activations"),
          sampleTable(n.low, "low"),
        );
        renderHistogram(n.activationHistogram, state, maxPageSize, stale);
      })
      .catch(failAll);
  };

  /** The chart of r per position, and the stored score the neuron was ranked by (its position, r and corrected p). */
  const renderPositions = (correlations: NeuronDetail["correlations"], score: NeuronDetail["score"], metric: string): void => {
    const count = correlations.length;
    const defined = correlations.filter((c) => c.r !== null);
    if (defined.length === 0 || !score) return positions.showMessage("info", `r is undefined at every position (constant activation or ${metric}).`);
    const box = h("div", { class: "chart", "data-chart": "r-by-position" });
    const samples = defined[0]!.samples;
    replaceChildren(
      positions.body,
      box,
      h(
        "p",
        { class: "muted", "data-role": "best-position" },
        `Ranked #${formatNumber(score.rank)} by |r| with ${metric}, strongest at position ${score.bestPosition}: r = ${formatR(score.r)}, ` +
          `p corrected for choosing the best of ${count} positions = ${formatPValue(score.pCorrected)} ` +
          `(p at that position alone = ${formatPValue(score.pAtPosition)}), over ${samples} samples with a ${metric} value.`,
      ),
    );
    charts.push(positionChart(box, { positions: defined.map((c) => c.position), r: defined.map((c) => c.r!), metric }));
  };

  /** Splits the server's histogram by metric value when every sample fits in one page; else shows it whole. */
  const renderHistogram = (whole: NeuronDetail["activationHistogram"], state: NeuronState, maxPageSize: number, stale: () => boolean): void => {
    const total = whole.counts.reduce((a, b) => a + b, 0) + whole.undefinedCount;
    const xLabel = `activation of ${id}, ${readingText(whole, state.metric)}`;
    const draw = (series: HistogramSeries[], note: string): void => {
      const box = h("div", { class: "chart", "data-chart": "activation-histogram" });
      replaceChildren(histogram.body, box, h("p", { class: "muted" }, note));
      charts.push(histogramChart(box, { edges: whole.edges, series, xLabel, yLabel: "samples", logY: false }));
    };
    if (total === 0) {
      histogram.showMessage("info", "No stored activations for this neuron.");
      return;
    }
    if (total > maxPageSize) {
      histogram.setData(neuronRequest(runId, layer, index, state.metric, EXTREMAL_K, state.reading, ACTIVATION_BINS), { activationHistogram: whole });
      draw([{ label: "all samples", counts: whole.counts, color: "#555555", fill: true }], `${total} samples: more than one page (${maxPageSize}), so the histogram is not split by ${state.metric}.`);
      return;
    }
    const request = activationsWithMetricRequest(runId, layer, index, state.metric, total, state.reading);
    query(request)
      .then((data) => {
        if (stale()) return;
        const samples = data.neuron.samples.map((s) => ({ activation: s.activation, value: s.metrics[0]?.value ?? null }));
        const groups = splitByMetric(whole.edges, samples, state.metric);
        histogram.setData(request, { edges: whole.edges, groups, samples: data.neuron.samples });
        draw(
          groups.map((g, i) => ({
            label: g.label,
            counts: g.counts,
            color: groups.length === 2 ? TWO_GROUP_COLORS[i]! : ramp(i / Math.max(1, groups.length - 1)),
            fill: groups.length <= 3,
          })),
          `${samples.length} samples.`,
        );
      })
      .catch((error: Error) => !stale() && histogram.showMessage("error", error.message));
  };

  Promise.all([query(runRequest(runId)), query(serverLimitsRequest())])
    .then(([{ run }, limits]) => {
      if (disposed) return;
      if (run.metrics.length === 0) {
        for (const f of figures) f.showMessage("info", "This run has no metrics yet.");
        return;
      }
      const fallback = run.metrics.some((m) => m.name === "label") ? "label" : run.metrics[0]!.name;
      const state: NeuronState = {
        metric: run.metrics.some((m) => m.name === target.metric) ? target.metric! : fallback,
        reading: { position: null, maxOverPositions: false },
      };
      const maxPageSize = limits.serverInfo.limits.maxPageSize;
      const probe = probePanel({ runId, neuronId: id }, () => state.metric);
      disposeProbe = probe.dispose;
      root.append(probe.element);
      replaceChildren(
        controls,
        selectControl({
          label: "metric",
          name: "metric",
          choices: run.metrics.map((m) => ({ value: m.name, text: m.name })),
          value: state.metric,
          onChange: (v) => {
            state.metric = v;
            history.replaceState(null, "", neuronHref(runId, layer, index, v));
            load(state, maxPageSize);
          },
        }),
        selectControl({
          label: "activation",
          name: "position",
          choices: [
            { value: "", text: "at the best position for the metric" },
            { value: "max", text: "max over positions" },
            ...Array.from({ length: run.positions ?? 0 }, (_, p) => ({ value: String(p), text: `at position ${p}` })),
          ],
          value: "",
          onChange: (v) => {
            state.reading = { position: v === "" || v === "max" ? null : Number(v), maxOverPositions: v === "max" };
            load(state, maxPageSize);
          },
        }),
      );
      load(state, maxPageSize);
    })
    .catch(failAll);

  return {
    dispose() {
      disposed = true;
      disposeProbe();
      destroyCharts();
    },
  };
}

function sampleTable(samples: readonly ExtremalSample[], direction: "high" | "low"): HTMLElement {
  if (samples.length === 0) return h("p", { class: "muted" }, "no samples");
  // Metric columns, except those the fixed columns already show (the built-in "correct").
  const metricNames = [...new Set(samples.flatMap((s) => s.metrics.map((m) => m.name)))].filter((name) => name !== "correct");
  const metricOf = (s: ExtremalSample, name: string): number | null => s.metrics.find((m) => m.name === name)?.value ?? null;
  const table = sortableTable<ExtremalSample>(
    [
      { title: "rank", cell: (s) => s.rank, sortKey: (s) => s.rank, numeric: true },
      { title: "activation", cell: (s) => formatNumber(s.activation), sortKey: (s) => s.activation, numeric: true },
      { title: "position", help: "the position read (max over positions: where this sample peaked)", cell: (s) => s.position ?? "–", sortKey: (s) => s.position ?? -1, numeric: true },
      { title: "sample", cell: (s) => s.sampleId, sortKey: (s) => s.sampleId },
      { title: "text", cell: (s) => h("span", { class: "sample-text" }, s.text ?? "–") },
      { title: "answer", cell: (s) => s.answer ?? "–", sortKey: (s) => s.answer ?? "" },
      { title: "prediction", cell: (s) => s.prediction ?? "–", sortKey: (s) => s.prediction ?? "" },
      {
        title: "correct",
        cell: (s) => (s.correct === null ? "–" : h("span", { class: s.correct ? "ok" : "bad" }, s.correct ? "yes" : "no")),
        sortKey: (s) => Number(s.correct),
      },
      ...metricNames.map((name) => ({
        title: name,
        cell: (s: ExtremalSample) => formatNumber(metricOf(s, name)),
        sortKey: (s: ExtremalSample) => metricOf(s, name) ?? -Infinity,
        numeric: true,
      })),
    ],
    samples,
    { initialSort: [0, false], rowAttrs: () => ({ "data-direction": direction }) },
  );
  return h("div", { class: "table-scroll", "data-extremal": direction }, table);
}

/** What the server read, in words (it reports the reading and position with every result). */
function readingText(h: { reading: string; position: number | null }, metric: string): string {
  if (h.reading === "BEST_POSITION") return `at position ${h.position}, its best position for ${metric}`;
  if (h.reading === "POSITION") return `at position ${h.position}`;
  return "maximised over positions (its r with a metric can differ from the r it was ranked by)";
}

