/** Colours shared by the figures (colour-blind safe: Okabe-Ito plus a viridis ramp for many series). */
export const COLORS = {
  loss: "#0072B2",
  valLoss: "#56B4E9",
  accuracy: "#D55E00",
  positive: "#C0392B",
  negative: "#2166AC",
  grid: "rgba(0, 0, 0, 0.08)",
  axis: "#333",
} as const;

const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Colour t in [0, 1] on a viridis-like ramp, stopped short of the pale yellow end to stay readable on white. */
export function ramp(t: number): string {
  const x = Math.min(Math.max(t, 0), 1) * 0.85 * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  const [a, b] = [VIRIDIS[i]!, VIRIDIS[i + 1]!];
  const c = a.map((v, k) => Math.round(v + (b[k]! - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/**
 * Diverging colour for r in [-1, 1] scaled by `max` (|r| >= max is fully saturated):
 * blue (negative) - white (0) - red (positive). Returns [r, g, b].
 */
export function diverging(r: number, max: number): [number, number, number] {
  const t = max > 0 ? Math.max(-1, Math.min(1, r / max)) : 0;
  const end = t < 0 ? [33, 102, 172] : [178, 24, 43];
  const a = Math.abs(t);
  return [Math.round(255 + (end[0]! - 255) * a), Math.round(255 + (end[1]! - 255) * a), Math.round(255 + (end[2]! - 255) * a)];
}
