/** A rendered page: `dispose` stops its subscriptions and frees its charts. */
export interface Page {
  dispose(): void;
}

/** Crumbs shown in the top bar: [label, href] pairs; the last is the current page. */
export type Crumbs = [label: string, href: string][];
