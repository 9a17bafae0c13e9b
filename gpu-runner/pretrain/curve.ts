/**
 * The pretraining curve: mean loss per run of steps, and a dependency-free SVG of it for the
 * README (written next to the checkpoint by `npm run pretrain`).
 */

/** Mean loss of each run of `every` steps, as [last step, mean] pairs. */
export function lossCurve(losses: readonly number[], every: number): [number, number][] {
  const curve: [number, number][] = [];
  for (let s = 0; s < losses.length; s += every) {
    const chunk = losses.slice(s, s + every);
    curve.push([s + chunk.length, Number((chunk.reduce((a, b) => a + b, 0) / chunk.length).toFixed(4))]);
  }
  return curve;
}

/** A line chart of `curve` (step on x, loss on a linear y axis from 0), `title` above it. */
export function lossCurveSvg(curve: readonly [number, number][], title: string): string {
  const [w, h, left, right, top, bottom] = [640, 320, 50, 15, 30, 35];
  const maxStep = Math.max(...curve.map(([s]) => s));
  const maxLoss = Math.ceil(Math.max(...curve.map(([, l]) => l)));
  const x = (s: number) => left + ((w - left - right) * s) / maxStep;
  const y = (l: number) => top + (h - top - bottom) * (1 - l / maxLoss);
  const path = curve.map(([s, l], i) => `${i === 0 ? "M" : "L"}${x(s).toFixed(1)},${y(l).toFixed(1)}`).join(" ");
  const yTicks = Array.from({ length: maxLoss + 1 }, (_, i) => i);
  const xTicks = Array.from({ length: 5 }, (_, i) => Math.round((maxStep * i) / 4));
  const text = (tx: number, ty: number, s: string, anchor = "middle") => `<text x="${tx}" y="${ty}" text-anchor="${anchor}">${s}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    text(w / 2, 18, title),
    ...yTicks.map((l) => `<line x1="${left}" x2="${w - right}" y1="${y(l)}" y2="${y(l)}" stroke="#ddd"/>` + text(left - 6, y(l) + 4, String(l), "end")),
    ...xTicks.map((s) => text(x(s), h - bottom + 16, String(s))),
    text(w / 2, h - 4, "optimizer step"),
    `<text transform="translate(14 ${h / 2}) rotate(-90)" text-anchor="middle">loss (answer tokens x5)</text>`,
    `<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
    "</svg>",
    "",
  ].join("\n");
}
