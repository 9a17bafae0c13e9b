import { figure } from "../components/figure.js";
import { sortableTable } from "../components/sortable-table.js";
import { h, replaceChildren } from "../dom.js";
import { formatNumber } from "../format.js";
import { query } from "../graphql.js";
import { probeRequest, type ProbeResult } from "../queries.js";

type ProbeSample = ProbeResult["samples"][number];

/**
 * The neuron page's test box: type inputs (one per line), run the run's trained prompt on them in a
 * worker (the probe query) and see this neuron's activation at its best position, its percentile
 * among the validation samples, and the model's answer. Stop closes the request, which cancels the job.
 */
export function probePanel(target: { runId: string; neuronId: string }, metric: () => string): { element: HTMLElement; dispose(): void } {
  const panel = figure({
    name: `run-${target.runId}-${target.neuronId}-probe`,
    title: "Test box",
    caption:
      "Type inputs, one per line: each fills the task's template (or is the whole instruction with \"raw\"), the run's trained prompt runs on it, " +
      "and the table shows this neuron at its best position for the selected metric, where that falls among the validation samples, and the model's answer.",
  });
  const texts = h("textarea", { name: "probe-texts", rows: 3, cols: 60, placeholder: "one input per line" });
  const raw = h("input", { type: "checkbox", name: "probe-raw" });
  const answer = h("input", { type: "text", name: "probe-answer", size: 12, placeholder: "optional" });
  const run = h("button", { type: "submit", class: "action-button" }, "Probe");
  const stop = h("button", { type: "button", class: "link-button", disabled: true }, "Stop");
  const form = h(
    "form",
    { class: "controls probe-form" },
    texts,
    h("label", { class: "control", title: "Forward each line as the whole instruction, without the task's template" }, raw, " raw"),
    h("label", { class: "control", title: "Gold answer for every line: gives its probability" }, "gold answer ", answer),
    run,
    stop,
  );
  panel.element.insertBefore(form, panel.body);
  panel.showMessage("info", "Type an input and press Probe.");

  let inFlight: AbortController | undefined;
  const finish = () => {
    inFlight = undefined;
    run.disabled = false;
    stop.disabled = true;
  };
  stop.addEventListener("click", () => {
    inFlight?.abort();
    finish();
    panel.showMessage("info", "Stopped: the probe job was cancelled.");
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const lines = texts.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (lines.length === 0) return panel.showMessage("error", "Type at least one input.");
    inFlight?.abort();
    const mine = new AbortController();
    inFlight = mine;
    run.disabled = true;
    stop.disabled = false;
    const request = probeRequest(target.runId, target.neuronId, metric(), lines, raw.checked, answer.value.trim() || null);
    panel.showMessage("info", `Probing ${lines.length} input${lines.length > 1 ? "s" : ""}…`);
    query(request, undefined, mine.signal)
      .then((data) => {
        if (inFlight !== mine) return;
        finish();
        panel.setData(request, data);
        const n = data.probe.neurons[0]!;
        replaceChildren(
          panel.body,
          h("p", { class: "muted" }, `${n.id} read at position ${n.bestPosition} (its best for ${metric()}); ${data.probe.samples.length} input(s) in ${data.probe.seconds.toFixed(2)} s.`),
          h("div", { class: "table-scroll", "data-probe": "results" }, resultTable(data.probe.samples)),
        );
      })
      .catch((error: Error) => {
        if (inFlight !== mine) return;
        finish();
        panel.showMessage("error", error.message);
      });
  });
  return { element: panel.element, dispose: () => inFlight?.abort() };
}

function resultTable(samples: readonly ProbeSample[]): HTMLElement {
  return sortableTable<ProbeSample>(
    [
      { title: "input", cell: (s) => h("span", { class: "sample-text" }, s.instruction) },
      { title: "activation", cell: (s) => formatNumber(s.readings[0]!.atBest), sortKey: (s) => s.readings[0]!.atBest, numeric: true },
      { title: "percentile", cell: (s) => s.readings[0]!.percentile.toFixed(1), sortKey: (s) => s.readings[0]!.percentile, numeric: true },
      { title: "prediction", cell: (s) => s.prediction, sortKey: (s) => s.prediction },
      { title: "gold p", cell: (s) => formatNumber(s.goldProb), sortKey: (s) => s.goldProb ?? -1, numeric: true },
      { title: "by position", cell: (s) => h("span", { class: "muted" }, s.readings[0]!.activations.map((a) => a.toFixed(2)).join(" ")) },
    ],
    samples,
    { rowAttrs: (s) => ({ "data-sample": s.id }) },
  );
}
