import { figure } from "../components/figure.js";
import { statusBadge } from "../components/status-badge.js";
import { h, replaceChildren } from "../dom.js";
import { formatDate } from "../format.js";
import { query, subscribe } from "../graphql.js";
import { isLive, runRequest, runStatusRequest, type RunDetail, type RunStatus } from "../queries.js";
import { runHref } from "../router.js";
import type { Crumbs, Page } from "./page.js";
import { analysisSection } from "./run-analysis.js";
import { causalPanel } from "./run-causal.js";
import { leaderboardFigure } from "./run-leaderboard.js";
import { trainingFigure } from "./run-training.js";

/**
 * One run: facts and live state, the training curve, a live leaderboard while it runs, then the
 * score figures. When the state changes (e.g. to DONE) the run is read again and the sections
 * below the training curve are rebuilt.
 */
export function runPage(root: HTMLElement, runId: string, setCrumbs: (crumbs: Crumbs) => void): Page {
  let disposed = false;
  let shownStatus: RunStatus | undefined;
  /** The latest runStatus event: newer than a stored record read before it arrived. */
  let live: { status: RunStatus; error: string | null; at: number } | undefined;
  let disposeSections = (): void => undefined;
  let stopTraining = (): void => undefined;
  let stopStatus = (): void => undefined;

  const badge = statusBadge("QUEUED");
  badge.hidden = true;
  const title = h("h1", {}, `Run ${runId} `, badge);
  const errorLine = h("p", { class: "error-text" });
  const facts = h("dl", { class: "facts" });
  const training = figure({
    name: `run-${runId}-training`,
    title: "Prompt training",
    caption: "Training loss per step, and validation loss and accuracy on the steps that ran validation; live while the run trains.",
  });
  const sections = h("div");
  replaceChildren(root, h("section", { class: "run-header" }, title, errorLine, facts), training.element, sections);
  setCrumbs([
    ["runs", "#/"],
    [`run ${runId}`, runHref(runId)],
  ]);

  const show = (stored: RunDetail): void => {
    const run = live && live.at > Date.parse(stored.updatedAt) ? { ...stored, status: live.status, error: live.error } : stored;
    shownStatus = run.status;
    badge.hidden = false;
    badge.update(run.status);
    errorLine.textContent = run.error ?? "";
    renderFacts(facts, run);
    disposeSections();
    sections.replaceChildren();
    const disposers = [
      ...(isLive(run.status) && run.metrics.length > 0 ? [leaderboardFigure(sections, run)] : []),
      analysisSection(sections, run),
      // causal jobs forward the validation set with the trained prompt: only for finished runs
      ...(run.status === "DONE" && run.metrics.length > 0 && (run.layers?.length ?? 0) > 0 ? [causalPanel(sections, run)] : []),
    ];
    disposeSections = () => disposers.forEach((dispose) => dispose());
  };
  const load = (): Promise<void> =>
    query(runRequest(runId)).then((data) => {
      if (!disposed) show(data.run);
    });

  load()
    .then(() => {
      if (disposed) return;
      stopTraining = trainingFigure(training, runId);
      stopStatus = subscribe(
        runStatusRequest(runId),
        ({ runStatus }) => {
          live = { status: runStatus.status, error: runStatus.error, at: Date.parse(runStatus.at) };
          if (runStatus.status !== shownStatus) void load().catch(() => undefined);
        },
        () => undefined, // a lost status feed leaves the last known state on screen
      );
    })
    .catch((error: Error) => {
      if (!disposed) replaceChildren(root, h("p", { class: "notice notice-error", role: "alert" }, `Could not load run ${runId}: ${error.message}`));
    });

  return {
    dispose() {
      disposed = true;
      stopStatus();
      stopTraining();
      disposeSections();
    },
  };
}

function renderFacts(facts: HTMLElement, run: RunDetail): void {
  const fact = (term: string, value: string): HTMLElement[] => [h("dt", {}, term), h("dd", {}, value)];
  replaceChildren(
    facts,
    ...fact("model", `${run.model.family} · ${run.model.path}`),
    ...fact("task", run.task.name),
    ...fact("neuron", run.neuronDefinition ?? "–"),
    ...fact("layers", run.layers ? layerSummary(run.layers) : "–"),
    ...fact("positions", run.positions === null ? "–" : String(run.positions)),
    ...fact("neurons per layer", run.dFF === null ? "–" : String(run.dFF)),
    ...fact("metrics", run.metrics.length ? run.metrics.map((m) => m.name).join(", ") : "–"),
    ...fact("created", formatDate(run.createdAt)),
    ...fact("updated", formatDate(run.updatedAt)),
  );
}

function layerSummary(layers: readonly number[]): string {
  const contiguous = layers.every((l, i) => i === 0 || l === layers[i - 1]! + 1);
  return contiguous && layers.length > 2 ? `${layers[0]}–${layers[layers.length - 1]} (${layers.length})` : layers.join(", ");
}
