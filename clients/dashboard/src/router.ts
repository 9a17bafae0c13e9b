import { neuronId, parseNeuronId } from "../../../gpu-runner/neuron-id.js";

/** The dashboard's pages, addressed by the URL hash. */
export type Route =
  | { page: "runs" }
  | { page: "api" }
  | { page: "run"; runId: string }
  | { page: "neuron"; runId: string; layer: number; index: number; metric?: string }
  | { page: "not-found"; hash: string };

/**
 * `#/` -> runs; `#/api` -> how to query the API; `#/runs/7` -> run 7; `#/runs/7/neurons/L3.N12?metric=label` -> that neuron.
 * Ids are URI-decoded (run ids are opaque strings to the dashboard).
 */
export function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(search);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "runs")) return { page: "runs" };
  if (parts.length === 1 && parts[0] === "api") return { page: "api" };
  if (parts[0] === "runs" && parts.length === 2) return { page: "run", runId: parts[1]! };
  if (parts[0] === "runs" && parts.length === 4 && parts[2] === "neurons") {
    const neuron = parseNeuronId(parts[3]!);
    if (neuron) {
      const metric = params.get("metric") ?? undefined;
      return { page: "neuron", runId: parts[1]!, ...neuron, ...(metric ? { metric } : {}) };
    }
  }
  return { page: "not-found", hash };
}

export function runHref(runId: string): string {
  return `#/runs/${encodeURIComponent(runId)}`;
}

export function neuronHref(runId: string, layer: number, index: number, metric?: string): string {
  return `#/runs/${encodeURIComponent(runId)}/neurons/${neuronId(layer, index)}${metric ? `?metric=${encodeURIComponent(metric)}` : ""}`;
}
