import { heatmap, type HeatCell } from "../charts/heatmap.js";
import { histogramChart } from "../charts/histogram-chart.js";
import { nullBandFigure } from "../charts/null-band.js";
import { ramp } from "../charts/palette.js";
import { selectControl } from "../components/controls.js";
import { figure, type Figure } from "../components/figure.js";
import { sortableTable } from "../components/sortable-table.js";
import { h, replaceChildren } from "../dom.js";
import { parseNeuronId } from "../../../../gpu-runner/neuron-id.js";
import { formatPValue, formatR } from "../format.js";
import { query, type GraphQLRequest } from "../graphql.js";
import {
  cellAlias,
  correlationHistogramsRequest,
  layerAlias,
  neuronsRequest,
  significanceRequest,
  strongestPerCellRequest,
  type Aggregate,
  type HistogramData,
  type RankedNeuron,
  type RunDetail,
} from "../queries.js";
import { neuronHref } from "../router.js";

/** Bins over [-1, 1]: fine enough that the bulk near r = 0 spans many bins at N = 1000 (spread ~0.03). */
const HISTOGRAM_BINS = 200;
const TABLE_SIZE = 50;
const AGGREGATE_TEXT: Record<Aggregate, string> = {
  MAX_ABS_OVER_POSITIONS: "max |r| over positions",
  MAX_ACTIVATION: "r of max activation",
};

/** The metric a run's pages show first: the label when the run has one. */
export function defaultMetric(run: RunDetail): string {
  return run.metrics.some((m) => m.name === "label") ? "label" : run.metrics[0]!.name;
}

interface AnalysisState {
  metric: string;
  aggregate: Aggregate;
  layer: string;
}

/** Figures that need scores, appended to `root`: r histograms, heat map, top neurons; all follow the chosen metric. Returns the disposer. */
export function analysisSection(root: HTMLElement, run: RunDetail): () => void {
  const layers = run.layers ?? [];
  if (run.metrics.length === 0 || layers.length === 0) {
    root.append(h("p", { class: "notice notice-info" }, "Scores appear here once the run has extracted activations and computed metrics."));
    return () => undefined;
  }
  const state: AnalysisState = {
    metric: defaultMetric(run),
    aggregate: "MAX_ABS_OVER_POSITIONS",
    layer: "",
  };
  const metricChoices = run.metrics.map((m) => ({ value: m.name, text: `${m.name} (${m.kind.toLowerCase()})` }));
  const controls = h(
    "div",
    { class: "controls" },
    selectControl({ label: "metric", name: "metric", choices: metricChoices, value: state.metric, onChange: (v) => ((state.metric = v), refreshAll()) }),
    selectControl({
      label: "score",
      name: "aggregate",
      choices: Object.entries(AGGREGATE_TEXT).map(([value, text]) => ({ value, text })),
      value: state.aggregate,
      onChange: (v) => {
        state.aggregate = v as Aggregate;
        refreshHistograms();
        refreshTable();
      },
    }),
  );
  const histograms = figure({
    name: `run-${run.id}-r-histograms`,
    title: "Distribution of r per layer",
    caption: "Counts of neurons by their score's Pearson r (sign kept), one line per layer, log scale; click a layer in the legend to hide it, drag across the plot to zoom, double-click to zoom out.",
  });
  const chanceLayer = { value: "" };
  const chance = figure({
    name: `run-${run.id}-r-null`,
    title: "r against chance (permutation null)",
    caption:
      "Observed r of every (position, neuron) pair of one layer, with the count expected if no neuron carried the metric " +
      "(shuffled-metric null, dashed; band: ±2 sd) and the family-wise chance level of |r| (dashed vertical lines; orange: Benjamini-Hochberg): pairs beyond it beat chance.",
    controls: [
      selectControl({
        label: "layer",
        name: "null-layer",
        choices: [{ value: "", text: "most above chance" }, ...layers.map((l) => ({ value: String(l), text: String(l) }))],
        value: "",
        onChange: (v) => ((chanceLayer.value = v), refreshChance()),
      }),
    ],
  });
  const heat = figure({
    name: `run-${run.id}-heatmap`,
    title: "Strongest r by layer and soft-token position",
    caption: "Each cell: the r of the neuron with the largest |r| at that layer and position. Click a cell to open that neuron.",
  });
  const tableLayer = selectControl({
    label: "layer",
    name: "layer",
    choices: [{ value: "", text: "all" }, ...layers.map((l) => ({ value: String(l), text: String(l) }))],
    value: "",
    onChange: (v) => ((state.layer = v), refreshTable()),
  });
  const table = figure({
    name: `run-${run.id}-top-neurons`,
    title: `Top ${TABLE_SIZE} neurons`,
    caption: "Ranked by |r|; click a header to sort, a neuron to inspect it.",
    controls: [tableLayer, neuronJump(run, () => state.metric)],
  });
  root.append(controls, histograms.element, chance.element, heat.element, table.element);

  // Each figure shows the answer to its latest request only, and nothing renders after dispose.
  type Slot = "histograms" | "chance" | "heatmap" | "table";
  const charts = new Map<Slot, { destroy(): void }>();
  const generation: Record<Slot, number> = { histograms: 0, chance: 0, heatmap: 0, table: 0 };
  let disposed = false;
  const load = <T, V>(slot: Slot, panel: Figure, request: GraphQLRequest<T, V>, render: (data: T) => { destroy(): void } | undefined): void => {
    const token = ++generation[slot];
    charts.get(slot)?.destroy();
    charts.delete(slot);
    panel.showMessage("info", "loading…");
    const current = (): boolean => !disposed && token === generation[slot];
    query(request)
      .then((data) => {
        if (!current()) return;
        panel.setData(request, data);
        const chart = render(data);
        if (chart) charts.set(slot, chart);
      })
      .catch((error: Error) => current() && panel.showMessage("error", error.message));
  };

  const refreshHistograms = (): void =>
    load("histograms", histograms, correlationHistogramsRequest(run.id, state.metric, state.aggregate, layers, HISTOGRAM_BINS), (data) => {
      const list = layers.map((layer) => ({ layer, histogram: data[layerAlias(layer)]! }));
      if (list.every((x) => x.histogram.counts.every((c) => c === 0))) {
        histograms.showMessage("info", `No scores for ${state.metric} yet.`);
        return undefined;
      }
      const box = h("div", { class: "chart", "data-chart": "r-histogram" });
      replaceChildren(histograms.body, box);
      return histogramChart(box, {
        edges: list[0]!.histogram.edges,
        series: list.map((x, i) => ({
          label: `layer ${x.layer}`,
          counts: x.histogram.counts,
          color: ramp(list.length === 1 ? 0 : i / (list.length - 1)),
          fill: list.length === 1,
        })),
        xLabel: `Pearson r with ${state.metric} (${AGGREGATE_TEXT[state.aggregate]})`,
        yLabel: "neurons (log scale)",
        logY: true,
        xRange: populatedRange(list.map((x) => x.histogram)),
      });
    });

  const refreshChance = (): void =>
    load("chance", chance, significanceRequest(run.id, state.metric, HISTOGRAM_BINS), (data) => {
      const box = h("div", { class: "chart", "data-chart": "r-null" });
      const summary = h("p", { class: "muted", "data-role": "null-summary" });
      replaceChildren(chance.body, summary, box);
      return nullBandFigure(box, summary, data.significance, chanceLayer.value === "" ? null : Number(chanceLayer.value));
    });

  const positions = Array.from({ length: run.positions ?? 0 }, (_, p) => p);
  const refreshHeatmap = (): void =>
    load("heatmap", heat, strongestPerCellRequest(run.id, state.metric, layers, positions.length), (data) => {
      const cells: HeatCell[] = layers.flatMap((layer) =>
        positions.map((p) => {
          const node = data[cellAlias(layer, p)]?.edges[0]?.node;
          return { layer, position: p, r: node ? node.r : null, index: node ? node.index : null };
        }),
      );
      const box = h("div", { class: "chart", "data-chart": "heatmap" });
      replaceChildren(heat.body, box);
      return heatmap(box, { layers, positions, cells, onSelect: (cell) => (location.hash = neuronHref(run.id, cell.layer, cell.index!, state.metric)) });
    });

  const refreshTable = (): void =>
    load(
      "table",
      table,
      neuronsRequest({ runId: run.id, metric: state.metric, aggregate: state.aggregate, layer: state.layer === "" ? null : Number(state.layer), first: TABLE_SIZE }),
      (data) => {
        const rows = data.neurons.edges.map((e) => e.node);
        if (rows.length === 0) table.showMessage("info", "No neurons match.");
        else replaceChildren(table.body, neuronTable(run.id, state.metric, rows), h("p", { class: "muted" }, `${data.neurons.totalCount} neurons match`));
        return undefined;
      },
    );

  const refreshAll = (): void => {
    refreshHistograms();
    refreshChance();
    refreshHeatmap();
    refreshTable();
  };
  refreshAll();
  return () => {
    disposed = true;
    for (const chart of charts.values()) chart.destroy();
    charts.clear();
  };
}

/** A field that opens a neuron by id (`L3.N12`), refusing ids the run does not have. */
function neuronJump(run: RunDetail, metric: () => string): HTMLFormElement {
  const input = h("input", { name: "neuron", placeholder: "L0.N0", size: 9, "aria-label": "neuron id" });
  input.addEventListener("input", () => input.setCustomValidity(""));
  const form = h("form", { class: "control" }, "open ", input, " ", h("button", { type: "submit", class: "link-button" }, "go"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = parseNeuronId(input.value.trim());
    const layers = run.layers ?? [];
    let problem = "";
    if (!id) problem = "write a neuron as L{layer}.N{index}, e.g. L3.N12";
    else if (!layers.includes(id.layer)) problem = `this run recorded layers ${layers.join(", ")}`;
    else if (run.dFF !== null && id.index >= run.dFF) problem = `layers have ${run.dFF} neurons (N0 to N${run.dFF - 1})`;
    input.setCustomValidity(problem);
    if (problem || !id) input.reportValidity();
    else location.hash = neuronHref(run.id, id.layer, id.index, metric());
  });
  return form;
}

/** Symmetric x range around 0 covering every non-empty bin, at least ±0.2, in steps of 0.1. */
function populatedRange(histograms: readonly HistogramData[]): [number, number] {
  let reach = 0.2;
  for (const { edges, counts } of histograms) {
    counts.forEach((c, i) => {
      if (c > 0) reach = Math.max(reach, Math.abs(edges[i]!), Math.abs(edges[i + 1]!));
    });
  }
  const m = Math.min(1, Math.ceil(reach * 10 - 1e-9) / 10);
  return [-m, m];
}

function neuronTable(runId: string, metric: string, rows: RankedNeuron[]): HTMLTableElement {
  return sortableTable<RankedNeuron>(
    [
      { title: "rank", cell: (n) => n.rank, sortKey: (n) => n.rank, numeric: true },
      { title: "neuron", cell: (n) => h("a", { href: neuronHref(runId, n.layer, n.index, metric) }, n.id), sortKey: (n) => n.layer * 1e7 + n.index },
      { title: "layer", cell: (n) => n.layer, sortKey: (n) => n.layer, numeric: true },
      { title: "r", help: "signed Pearson r at the best position", cell: (n) => h("span", { class: n.r < 0 ? "neg" : "pos" }, formatR(n.r)), sortKey: (n) => n.r, numeric: true },
      { title: "|r|", cell: (n) => Math.abs(n.r).toFixed(3), sortKey: (n) => Math.abs(n.r), numeric: true },
      { title: "best position", cell: (n) => (n.bestPosition === null ? "–" : n.bestPosition), sortKey: (n) => n.bestPosition ?? -1, numeric: true },
      {
        title: "p (corrected)",
        help: "two-sided p corrected for choosing the best of P positions (Sidak 1−(1−p)^P); the p to read this ranking against",
        cell: (n) => formatPValue(n.pCorrected),
        sortKey: (n) => n.pCorrected ?? 1,
        numeric: true,
      },
      { title: "p at position", help: "two-sided p of r at its position alone (Student t, N−2 df), not corrected for choosing it", cell: (n) => formatPValue(n.pAtPosition), sortKey: (n) => n.pAtPosition ?? 1, numeric: true },
    ],
    rows,
    { initialSort: [0, false], rowAttrs: (n) => ({ "data-neuron": n.id }) },
  );
}
