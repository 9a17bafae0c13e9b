import { storedToken, storeToken } from "../api-token.js";
import { effectChart } from "../charts/effect-chart.js";
import { selectControl } from "../components/controls.js";
import { figure } from "../components/figure.js";
import { h, replaceChildren } from "../dom.js";
import { formatNumber } from "../format.js";
import { GraphQLRequestError } from "../../../client/errors.js";
import { query } from "../graphql.js";
import { ablateRequest, type Ablation, type AblationMode, type CausalEffect, type RunDetail } from "../queries.js";
import { defaultMetric } from "./run-analysis.js";

const MODES: { value: AblationMode; text: string }[] = [
  { value: "ZERO", text: "zero" },
  { value: "MEAN", text: "mean" },
  { value: "NOISE", text: "noise" },
];

/**
 * The "Causal check" panel of a finished run: ablate a metric's top-K neurons against random
 * neurons of the same layers (the ablateNeurons mutation, sent with the token the user typed) and
 * draw the accuracy and loss changes with their 95% intervals. Returns the disposer.
 */
export function causalPanel(root: HTMLElement, run: RunDetail): () => void {
  const panel = figure({
    name: `run-${run.id}-causal`,
    title: "Causal check",
    caption:
      "Ablates the metric's top-K neurons and, as controls, random neurons of the same layers, then forwards the validation set under each " +
      "(seconds to minutes). A skill neuron set moves accuracy and loss well beyond the random sets.",
  });
  let metric = defaultMetric(run);
  let mode: AblationMode = "ZERO";
  const number = (name: string, value: number, min: number, max: number) =>
    h("input", { type: "number", name, value, min, max, step: 1, required: true, size: 5 });
  const k = number("k", 10, 1, 100);
  const draws = number("draws", 20, 1, 200);
  const token = h("input", { type: "password", name: "token", value: storedToken(), autocomplete: "off", placeholder: "<dataDir>/token", size: 18 });
  const button = h("button", { type: "submit", class: "action-button" }, "Run ablation");
  const form = h(
    "form",
    { class: "controls causal-form" },
    selectControl({ label: "metric", name: "causal-metric", choices: run.metrics.map((m) => ({ value: m.name, text: m.name })), value: metric, onChange: (v) => (metric = v) }),
    h("label", { class: "control" }, "top K ", k),
    selectControl({ label: "ablation", name: "causal-mode", choices: MODES, value: mode, onChange: (v) => (mode = v as AblationMode) }),
    h("label", { class: "control" }, "random sets ", draws),
    h("label", { class: "control", title: "Mutations need the server's bearer token (the file <dataDir>/token). Kept for this browser tab only." }, "API token ", token),
    button,
  );
  panel.element.insertBefore(form, panel.body);
  panel.showMessage("info", "Choose a metric and run the ablation to see whether its top neurons matter for the task.");
  root.append(panel.element);

  let disposed = false;
  let generation = 0;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    storeToken(token.value.trim());
    const request = ablateRequest(run.id, metric, Number(k.value), mode, Number(draws.value), 0);
    const mine = ++generation;
    button.disabled = true;
    panel.showMessage("info", `Ablating the top ${k.value} neurons for ${metric} and ${draws.value} random sets: ${Number(draws.value) + 2} forwards of the validation set…`);
    query(request, token.value.trim())
      .then((data) => {
        if (disposed || mine !== generation) return;
        panel.setData(request, data);
        render(panel.body, data.ablateNeurons);
      })
      .catch((error: Error) => {
        if (disposed || mine !== generation) return;
        const needsToken = error instanceof GraphQLRequestError && error.code === "UNAUTHENTICATED";
        panel.showMessage("error", needsToken ? "The server refused the mutation: paste its token (the file <dataDir>/token) into the API token field." : error.message);
      })
      .finally(() => {
        if (mine === generation) button.disabled = false;
      });
  });
  return () => {
    disposed = true;
  };
}

function render(body: HTMLElement, a: Ablation): void {
  const chart = h("div", { class: "chart", "data-chart": "causal-effects" });
  const pct = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(100 * v).toFixed(1)} pts`;
  const nats = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(3)}`;
  const row = (name: string, base: number, ablated: number, e: CausalEffect, f: (v: number) => string) =>
    h(
      "tr",
      { "data-effect": name },
      h("td", {}, name),
      h("td", { class: "num" }, formatNumber(base)),
      h("td", { class: "num" }, formatNumber(ablated)),
      h("td", { class: "num" }, interval(e.ablated, f)),
      h("td", { class: "num" }, interval(e.random, f)),
      h("td", { class: "num" }, interval(e.effect, f)),
      h("td", { class: "num" }, e.z === null ? "–" : e.z.toFixed(1)),
      h("td", { class: "num" }, e.pRandom.toPrecision(2)),
    );
  replaceChildren(
    body,
    h("p", { class: "muted" }, `${a.mode.toLowerCase()} ablation of ${a.neurons.map((n) => n.id).join(", ")} on ${a.sampleCount} validation samples; ${a.random.length} random sets.`),
    chart,
    h(
      "table",
      { class: "data-table causal-table" },
      h(
        "thead",
        {},
        h("tr", {}, ...["measure", "baseline", "top-K ablated", "Δ top-K", "Δ random", "Δ top-K − Δ random", "z", "p (random)"].map((t) => h("th", {}, t))),
      ),
      h(
        "tbody",
        {},
        row("accuracy", a.baseline.accuracy, a.ablated.accuracy, a.deltas.accuracy, pct),
        row("loss", a.baseline.meanLoss, a.ablated.meanLoss, a.deltas.loss, nats),
      ),
    ),
  );
  effectChart(chart, [
    { key: "accuracy", title: "Δ accuracy", topK: a.deltas.accuracy.ablated, random: a.deltas.accuracy.random, draws: a.random.map((r) => r.accuracy - a.baseline.accuracy), format: pct },
    { key: "loss", title: "Δ loss (nats)", topK: a.deltas.loss.ablated, random: a.deltas.loss.random, draws: a.random.map((r) => r.meanLoss - a.baseline.meanLoss), format: nats },
  ]);
}

function interval(i: { estimate: number | null; low: number | null; high: number | null }, f: (v: number) => string): string {
  if (i.estimate === null) return "–";
  return i.low === null || i.high === null ? f(i.estimate) : `${f(i.estimate)} [${f(i.low)}, ${f(i.high)}]`;
}
