import { h } from "../dom.js";
import type { RunStatus } from "../queries.js";

/** A run state as a coloured badge; `update` changes it in place (live status). */
export function statusBadge(status: RunStatus): HTMLElement & { update(status: RunStatus): void } {
  const badge = h("span", { class: "status", "data-status": status }, status.toLowerCase()) as HTMLElement & { update(status: RunStatus): void };
  badge.update = (next) => {
    badge.dataset.status = next;
    badge.textContent = next.toLowerCase();
  };
  return badge;
}
