import { selectControl } from "../components/controls.js";
import { figure } from "../components/figure.js";
import { sortableTable } from "../components/sortable-table.js";
import { h, replaceChildren } from "../dom.js";
import { formatR } from "../format.js";
import { subscribe } from "../graphql.js";
import { leaderboardRequest, type LeaderboardEntry, type RunDetail } from "../queries.js";
import { neuronHref } from "../router.js";
import { defaultMetric } from "./run-analysis.js";

const LEADERBOARD_K = 20;

/**
 * Live top neurons of an extracting run (`neuronLeaderboard`), appended to `root`; the table is
 * replaced on every update. Returns the disposer.
 */
export function leaderboardFigure(root: HTMLElement, run: RunDetail): () => void {
  let metric = defaultMetric(run);
  let stop = (): void => undefined;
  const panel = figure({
    name: `run-${run.id}-live-leaderboard`,
    title: "Live neuron leaderboard",
    caption: `The ${LEADERBOARD_K} neurons with the largest |r| so far (max over positions), updated as activations stream in.`,
    controls: [
      selectControl({
        label: "metric",
        name: "leaderboard-metric",
        choices: run.metrics.map((m) => ({ value: m.name, text: m.name })),
        value: metric,
        onChange: (v) => {
          metric = v;
          start();
        },
      }),
    ],
  });
  root.append(panel.element);

  const start = (): void => {
    stop();
    panel.showMessage("info", "waiting for the first leaderboard…");
    const request = leaderboardRequest(run.id, metric, LEADERBOARD_K);
    stop = subscribe(
      request,
      (data) => {
        const board = data.neuronLeaderboard;
        panel.setData(request, data);
        replaceChildren(
          panel.body,
          h("p", { class: "muted", "data-role": "samples-seen" }, `after ${board.samplesSeen} validation samples`),
          sortableTable<LeaderboardEntry>(
            [
              { title: "rank", cell: (n) => n.rank, sortKey: (n) => n.rank, numeric: true },
              { title: "neuron", cell: (n) => h("a", { href: neuronHref(run.id, n.layer, n.index, metric) }, n.id), sortKey: (n) => n.layer * 1e7 + n.index },
              { title: "r", cell: (n) => h("span", { class: n.r < 0 ? "neg" : "pos" }, formatR(n.r)), sortKey: (n) => n.r, numeric: true },
              { title: "best position", cell: (n) => n.bestPosition, sortKey: (n) => n.bestPosition, numeric: true },
            ],
            board.neurons,
            { initialSort: [0, false], rowAttrs: (n) => ({ "data-leader": n.id }) },
          ),
        );
      },
      (error) => panel.showMessage("error", `Live leaderboard stopped: ${error.message}`),
    );
  };
  start();
  return () => stop();
}
