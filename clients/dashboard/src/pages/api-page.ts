import { h, replaceChildren } from "../dom.js";
import { GRAPHQL_URL } from "../graphql.js";
import type { Crumbs, Page } from "./page.js";

/** How to fetch the dashboard's data outside the browser: endpoint, curl, Python. */
export function apiPage(root: HTMLElement, setCrumbs: (crumbs: Crumbs) => void): Page {
  setCrumbs([
    ["runs", "#/"],
    ["API", "#/api"],
  ]);
  const wsUrl = GRAPHQL_URL.replace(/^http/, "ws");
  const example = `query { runs(first: 10) { edges { node { id status task { name } } } } }`;
  const python = `import requests

URL = "${GRAPHQL_URL}"
query = """
query Top($runId: ID!, $metric: String!) {
  neurons(runId: $runId, metric: $metric, first: 20) {
    edges { node { id layer index r pCorrected pAtPosition bestPosition } }
  }
}"""
rows = requests.post(URL, json={"query": query, "variables": {"runId": "1", "metric": "label"}}).json()
neurons = [e["node"] for e in rows["data"]["neurons"]["edges"]]`;
  replaceChildren(
    root,
    h(
      "section",
      { class: "figure" },
      h("h2", {}, "GraphQL API"),
      h(
        "p",
        { class: "caption" },
        "Every figure in this dashboard comes from one GraphQL request: open its “GraphQL” box to copy it, or download its data with “JSON”.",
      ),
      h("dl", { class: "facts" }, h("dt", {}, "queries (HTTP POST)"), h("dd", {}, h("code", {}, GRAPHQL_URL)), h("dt", {}, "subscriptions (graphql-ws)"), h("dd", {}, h("code", {}, wsUrl))),
      h("h3", {}, "curl"),
      h("pre", { class: "query-text" }, `curl -s ${GRAPHQL_URL} -H 'content-type: application/json' \\\n  --data '${JSON.stringify({ query: example })}'`),
      h("h3", {}, "Python"),
      h("pre", { class: "query-text" }, python),
    ),
  );
  return { dispose: () => undefined };
}
