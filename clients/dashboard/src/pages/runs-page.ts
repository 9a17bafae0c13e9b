import { sortableTable } from "../components/sortable-table.js";
import { figure } from "../components/figure.js";
import { statusBadge } from "../components/status-badge.js";
import { h, replaceChildren } from "../dom.js";
import { formatDate } from "../format.js";
import { query, subscribe } from "../graphql.js";
import { isLive, runsRequest, runStatusRequest, type RunSummary } from "../queries.js";
import { runHref } from "../router.js";
import type { Page } from "./page.js";

/** All runs, newest first; active runs' states update live through `runStatus`. */
export function runsPage(root: HTMLElement): Page {
  const panel = figure({ name: "runs", title: "Runs", caption: "Newest first. States of active runs update live." });
  replaceChildren(root, panel.element);
  const stops: (() => void)[] = [];
  let disposed = false;

  const request = runsRequest();
  query(request)
    .then((data) => {
      if (disposed) return;
      panel.setData(request, data);
      const runs = data.runs.edges.map((e) => e.node);
      if (runs.length === 0) {
        panel.showMessage("info", "No runs yet. Start one with `skillscope run` or the startRun mutation.");
        return;
      }
      const badges = new Map<string, ReturnType<typeof statusBadge>>();
      const table = sortableTable<RunSummary>(
        [
          { title: "run", cell: (r) => h("a", { href: runHref(r.id) }, `run ${r.id}`), sortKey: (r) => Number(r.id) || r.id, numeric: true },
          {
            title: "status",
            cell: (r) => {
              const badge = statusBadge(r.status);
              badges.set(r.id, badge);
              return badge;
            },
            sortKey: (r) => r.status,
          },
          { title: "model", cell: (r) => h("span", { title: r.model.path }, `${r.model.family} · ${shortPath(r.model.path)}`), sortKey: (r) => r.model.path },
          { title: "task", cell: (r) => r.task.name, sortKey: (r) => r.task.name },
          { title: "created", cell: (r) => formatDate(r.createdAt), sortKey: (r) => r.createdAt },
          { title: "updated", cell: (r) => formatDate(r.updatedAt), sortKey: (r) => r.updatedAt },
          { title: "error", cell: (r) => (r.error ? h("span", { class: "error-text", title: r.error }, r.error) : "") },
        ],
        runs,
        { initialSort: [0, true], rowAttrs: (r) => ({ "data-run": r.id }) },
      );
      const total = data.runs.totalCount;
      const count = runs.length < total ? `the newest ${runs.length} of ${total} runs` : `${total} run${total === 1 ? "" : "s"}`;
      replaceChildren(panel.body, h("p", { class: "muted" }, count), table);
      // One subscription per live run only: other runs change state only when someone acts.
      for (const run of runs.filter((r) => isLive(r.status))) {
        stops.push(
          subscribe(
            runStatusRequest(run.id),
            (event) => badges.get(run.id)?.update(event.runStatus.status),
            () => undefined, // a lost status feed leaves the last known state on screen
          ),
        );
      }
    })
    .catch((error: Error) => !disposed && panel.showMessage("error", `Could not load runs: ${error.message}`));

  return {
    dispose() {
      disposed = true;
      for (const stop of stops) stop();
    },
  };
}

/** The last two segments of a model folder: enough to recognise it in a table. */
function shortPath(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.slice(-2).join("/") || path;
}
