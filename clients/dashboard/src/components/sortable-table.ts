import { h, type Child } from "../dom.js";

export interface Column<Row> {
  /** Header text. */
  title: string;
  /** Tooltip of the header. */
  help?: string;
  /** What the cell shows. */
  cell: (row: Row) => Child;
  /** Sort key; columns without one are not sortable. */
  sortKey?: (row: Row) => number | string;
  numeric?: boolean;
}

/**
 * A table sorted by clicking a header (again to reverse). Sorting is client-side over the
 * rows given; `initialSort` is [column index, descending].
 */
export function sortableTable<Row>(
  columns: readonly Column<Row>[],
  rows: readonly Row[],
  options: { initialSort?: [number, boolean]; rowAttrs?: (row: Row) => Record<string, string>; caption?: string } = {},
): HTMLTableElement {
  let [sortColumn, descending] = options.initialSort ?? [-1, false];
  const tbody = h("tbody");
  const headers = columns.map((column, i) => {
    const th = h("th", { scope: "col", title: column.help, class: column.numeric ? "num" : undefined }, column.title);
    if (column.sortKey) {
      th.classList.add("sortable");
      th.tabIndex = 0;
      const activate = (): void => {
        descending = sortColumn === i ? !descending : Boolean(column.numeric);
        sortColumn = i;
        render();
      };
      th.addEventListener("click", activate);
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          activate();
        }
      });
    }
    return th;
  });

  const render = (): void => {
    const sorted = [...rows];
    const key = columns[sortColumn]?.sortKey;
    if (key) {
      sorted.sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const order = x < y ? -1 : x > y ? 1 : 0;
        return descending ? -order : order;
      });
    }
    headers.forEach((th, i) => {
      th.setAttribute("aria-sort", i === sortColumn ? (descending ? "descending" : "ascending") : "none");
    });
    tbody.replaceChildren(
      ...sorted.map((row) => h("tr", options.rowAttrs?.(row) ?? {}, ...columns.map((c) => h("td", { class: c.numeric ? "num" : undefined }, c.cell(row))))),
    );
  };
  render();
  return h("table", { class: "data-table" }, options.caption ? h("caption", {}, options.caption) : null, h("thead", {}, h("tr", {}, ...headers)), tbody);
}
