import { neuronId } from "../../../../gpu-runner/neuron-id.js";
import { diverging } from "./palette.js";
import { chartWidth, watchWidth } from "./size.js";

/** One cell: the strongest neuron of a (layer, position), by |r|. */
export interface HeatCell {
  layer: number;
  position: number;
  /** Signed r; null when the cell has no score. */
  r: number | null;
  /** Neuron index of the strongest neuron there. */
  index: number | null;
}

export interface HeatmapOptions {
  layers: readonly number[];
  positions: readonly number[];
  /** Cells in any order; missing (layer, position) pairs draw as "no data". */
  cells: readonly HeatCell[];
  onSelect?: (cell: HeatCell) => void;
}

const MARGIN = { left: 64, right: 96, top: 20, bottom: 48 };
const FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";

/**
 * Layer x position heat map of r on a canvas (rows: layers, bottom = first; columns: positions),
 * diverging colours symmetric around 0 with a colour bar, a hover tooltip and click-to-select.
 */
export function heatmap(container: HTMLElement, options: HeatmapOptions): { destroy(): void } {
  const canvas = document.createElement("canvas");
  canvas.className = "heatmap";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "heat map of Pearson r by layer and soft-token position");
  const tip = document.createElement("div");
  tip.className = "heatmap-tip";
  tip.hidden = true;
  container.style.position = "relative";
  container.append(canvas, tip);

  const rowOf = new Map(options.layers.map((layer, i) => [layer, i]));
  const colOf = new Map(options.positions.map((p, i) => [p, i]));
  const grid: (HeatCell | undefined)[] = new Array(options.layers.length * options.positions.length);
  let maxAbs = 0;
  for (const cell of options.cells) {
    const row = rowOf.get(cell.layer);
    const col = colOf.get(cell.position);
    if (row === undefined || col === undefined) continue;
    grid[row * options.positions.length + col] = cell;
    if (cell.r !== null) maxAbs = Math.max(maxAbs, Math.abs(cell.r));
  }
  const scaleMax = maxAbs > 0 ? Math.min(1, Math.ceil(maxAbs * 20) / 20) : 1;
  const rows = options.layers.length;
  const cols = options.positions.length;
  let geometry = { cellW: 0, cellH: 0 };

  const draw = (width: number): void => {
    const cellH = Math.max(14, Math.min(32, Math.floor(420 / Math.max(rows, 1))));
    const cellW = Math.max(4, (width - MARGIN.left - MARGIN.right) / Math.max(cols, 1));
    const height = MARGIN.top + rows * cellH + MARGIN.bottom;
    geometry = { cellW, cellH };
    // The grid's place on the canvas (CSS pixels), for tools that point at cells (the browser tests do).
    canvas.dataset.grid = JSON.stringify({ left: MARGIN.left, top: MARGIN.top, cellW, cellH, rows, cols });
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d")!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    ctx.fillStyle = "#222";

    for (let row = 0; row < rows; row++) {
      const y = MARGIN.top + (rows - 1 - row) * cellH;
      for (let col = 0; col < cols; col++) {
        const cell = grid[row * cols + col];
        const x = MARGIN.left + col * cellW;
        if (!cell || cell.r === null) {
          ctx.fillStyle = "#e6e6e6";
        } else {
          const [r, g, b] = diverging(cell.r, scaleMax);
          ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
        }
        ctx.fillRect(x, y, Math.ceil(cellW), cellH);
      }
    }
    ctx.strokeStyle = "#999";
    ctx.lineWidth = 1;
    ctx.strokeRect(MARGIN.left + 0.5, MARGIN.top + 0.5, cols * cellW, rows * cellH);

    // Axes: layer labels (thinned to stay legible), position labels, titles.
    ctx.fillStyle = "#222";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const layerStep = Math.ceil(14 / cellH);
    options.layers.forEach((layer, row) => {
      if (row % layerStep === 0) ctx.fillText(String(layer), MARGIN.left - 6, MARGIN.top + (rows - 1 - row + 0.5) * cellH);
    });
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const posStep = Math.ceil(22 / cellW);
    options.positions.forEach((p, col) => {
      if (col % posStep === 0) ctx.fillText(String(p), MARGIN.left + (col + 0.5) * cellW, MARGIN.top + rows * cellH + 4);
    });
    ctx.fillText("soft-token position", MARGIN.left + (cols * cellW) / 2, MARGIN.top + rows * cellH + 24);
    ctx.save();
    ctx.translate(16, MARGIN.top + (rows * cellH) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText("layer", 0, 0);
    ctx.restore();

    // Colour bar.
    const barX = MARGIN.left + cols * cellW + 24;
    const barH = Math.max(rows * cellH, 80);
    for (let i = 0; i < barH; i++) {
      const [r, g, b] = diverging(scaleMax * (1 - (2 * i) / barH), scaleMax);
      ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
      ctx.fillRect(barX, MARGIN.top + i, 14, 1);
    }
    ctx.strokeStyle = "#999";
    ctx.strokeRect(barX + 0.5, MARGIN.top + 0.5, 14, barH);
    ctx.fillStyle = "#222";
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.fillText(`+${scaleMax.toFixed(2)}`, barX + 18, MARGIN.top + 6);
    ctx.fillText("0", barX + 18, MARGIN.top + barH / 2);
    ctx.fillText(`−${scaleMax.toFixed(2)}`, barX + 18, MARGIN.top + barH - 6);
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText("r", barX + 7, MARGIN.top - 1);
  };

  const cellAt = (event: MouseEvent): HeatCell | undefined => {
    const rect = canvas.getBoundingClientRect();
    const col = Math.floor((event.clientX - rect.left - MARGIN.left) / geometry.cellW);
    const fromTop = Math.floor((event.clientY - rect.top - MARGIN.top) / geometry.cellH);
    if (col < 0 || col >= cols || fromTop < 0 || fromTop >= rows) return undefined;
    return grid[(rows - 1 - fromTop) * cols + col];
  };
  canvas.addEventListener("mousemove", (event) => {
    const cell = cellAt(event);
    if (!cell || cell.r === null) {
      tip.hidden = true;
      canvas.style.cursor = "default";
      return;
    }
    tip.hidden = false;
    tip.textContent = `layer ${cell.layer}, position ${cell.position}: r = ${cell.r.toFixed(3)}${cell.index !== null ? ` (${neuronId(cell.layer, cell.index)})` : ""}`;
    tip.style.left = `${event.offsetX + 14}px`;
    tip.style.top = `${event.offsetY + 10}px`;
    canvas.style.cursor = options.onSelect && cell.index !== null ? "pointer" : "default";
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  canvas.addEventListener("click", (event) => {
    const cell = cellAt(event);
    if (cell && cell.index !== null) options.onSelect?.(cell);
  });

  draw(chartWidth(container));
  const unwatch = watchWidth(container, draw);
  return {
    destroy() {
      unwatch();
      canvas.remove();
      tip.remove();
    },
  };
}
