import { GRAPHQL_URL, queryText, type SentRequest } from "../graphql.js";
import { h, notice, replaceChildren } from "../dom.js";

/** A titled panel whose content can be fetched as data: JSON download and the GraphQL query behind it. */
export interface Figure {
  readonly element: HTMLElement;
  /** Where the figure draws. */
  readonly body: HTMLElement;
  /** Records what the figure shows, for the data links (the request that fetched it and its answer). */
  setData(request: SentRequest, data: unknown): void;
  /** Replaces the body with an error or empty-state message. */
  showMessage(kind: "error" | "info", text: string): void;
}

/** `name` becomes the download's file name and the panel's data-figure attribute (tests look for it). */
export function figure(options: { name: string; title: string; caption?: string; controls?: HTMLElement[] }): Figure {
  const body = h("div", { class: "figure-body" });
  let current: { request: SentRequest; data: unknown } | undefined;

  const download = h("button", { type: "button", class: "link-button", disabled: true, title: "Download the data of this figure as JSON" }, "JSON");
  download.addEventListener("click", () => {
    if (!current) return;
    const text = JSON.stringify({ endpoint: GRAPHQL_URL, query: queryText(current.request), variables: current.request.variables, data: current.data }, null, 2);
    const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    const a = h("a", { href: url, download: `${options.name}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  const queryBoxText = h("pre", { class: "query-text" });
  const queryBox = h("details", { class: "query-box" }, h("summary", { title: "The GraphQL request that fetched this figure's data" }, "GraphQL"), queryBoxText);

  const element = h(
    "section",
    { class: "figure", "data-figure": options.name },
    h(
      "div",
      { class: "figure-head" },
      h("h2", {}, options.title),
      h("div", { class: "figure-actions" }, ...(options.controls ?? []), download),
    ),
    options.caption ? h("p", { class: "caption" }, options.caption) : null,
    body,
    queryBox,
  );

  return {
    element,
    body,
    setData(request, data) {
      current = { request, data };
      download.disabled = false;
      const text = queryText(request);
      const payload = JSON.stringify({ query: text, variables: request.variables });
      // Mutations need the server's bearer token; the command reads it from the data directory.
      const auth = /^\s*mutation\b/.test(text) ? ` -H "Authorization: Bearer $(cat <dataDir>/token)"` : "";
      queryBoxText.textContent =
        `${text.trim()}\n\n# variables\n${JSON.stringify(request.variables, null, 2)}\n\n# fetch it yourself\n` +
        `curl -s ${GRAPHQL_URL} -H 'content-type: application/json'${auth} --data '${payload.replace(/'/g, "'\\''")}'`;
    },
    showMessage(kind, text) {
      replaceChildren(body, notice(kind, text));
    },
  };
}
