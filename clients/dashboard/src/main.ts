// First import: makes navigator.language usable before any module formats numbers with it.
import "./locale-guard.js";
import { neuronId } from "../../../gpu-runner/neuron-id.js";
import { h, replaceChildren } from "./dom.js";
import { apiPage } from "./pages/api-page.js";
import { neuronPage } from "./pages/neuron-page.js";
import type { Crumbs, Page } from "./pages/page.js";
import { runPage } from "./pages/run-page.js";
import { runsPage } from "./pages/runs-page.js";
import { parseRoute } from "./router.js";

const app = document.getElementById("app")!;
const crumbs = document.getElementById("crumbs")!;
let current: Page | undefined;

function setCrumbs(list: Crumbs): void {
  replaceChildren(
    crumbs,
    ...list.flatMap(([label, href], i) => [
      i > 0 ? h("span", { class: "sep", "aria-hidden": "true" }, "›") : null,
      i === list.length - 1 ? h("span", { "aria-current": "page" }, label) : h("a", { href }, label),
    ]),
  );
}

/** Renders the page the hash names, disposing the previous one (its subscriptions and charts). */
function route(): void {
  current?.dispose();
  current = undefined;
  window.scrollTo(0, 0);
  const target = parseRoute(location.hash);
  switch (target.page) {
    case "runs":
      setCrumbs([["runs", "#/"]]);
      document.title = "runs · skillscope";
      current = runsPage(app);
      break;
    case "api":
      document.title = "API · skillscope";
      current = apiPage(app, setCrumbs);
      break;
    case "run":
      document.title = `run ${target.runId} · skillscope`;
      current = runPage(app, target.runId, setCrumbs);
      break;
    case "neuron":
      document.title = `${neuronId(target.layer, target.index)} · run ${target.runId} · skillscope`;
      current = neuronPage(app, target, setCrumbs);
      break;
    case "not-found":
      setCrumbs([["runs", "#/"]]);
      replaceChildren(app, h("p", { class: "notice notice-error", role: "alert" }, `No page at "${target.hash}". `, h("a", { href: "#/" }, "Back to the runs.")));
      break;
  }
}

window.addEventListener("hashchange", route);
route();
