import assert from "node:assert/strict";
import { test } from "node:test";
import { scoreMetricFromActivations } from "../../../server/analysis/after-the-fact.js";
import { assertClose, gaussians, referenceR } from "./helpers.js";

test("after-the-fact scores use only the samples where the metric is defined", () => {
  const [n, p, f] = [150, 2, 40];
  const acts = [0, 1].map((l) => Float32Array.from(gaussians(n * p * f, 40 + l)));
  const metric = gaussians(n, 50);
  for (let s = 0; s < n; s++) metric[s] += acts[1][s * p * f + 3];
  const missing = new Set<number>();
  for (let s = 0; s < n; s += 3) { metric[s] = Number.NaN; missing.add(s); }
  const res = scoreMetricFromActivations(acts, metric, p, f);
  const keep = Array.from({ length: n }, (_, s) => s).filter((s) => !missing.has(s));
  assert.equal(res.samples, keep.length);
  const y = keep.map((s) => metric[s]);
  for (let l = 0; l < 2; l++) {
    const sub = new Float64Array(keep.length * p * f);
    keep.forEach((s, i) => sub.set(acts[l].subarray(s * p * f, (s + 1) * p * f), i * p * f));
    for (let j = 0; j < p * f; j++) assertClose(res.r[l][j], referenceR(sub, p * f, j, y), 1e-9, 1e-12, `r ${l}/${j}`);
    const xmax = new Float64Array(keep.length * f);
    keep.forEach((_, i) => { for (let q = 0; q < f; q++) xmax[i * f + q] = Math.max(sub[i * p * f + q], sub[i * p * f + f + q]); });
    for (let q = 0; q < f; q++) assertClose(res.rMaxActivation[l][q], referenceR(xmax, f, q, y), 1e-9, 1e-12, `rmax ${l}/${q}`);
  }
  assert.ok(res.r[1][3] > 0.5);
  const inf = metric.slice();
  inf[1] = Infinity;
  assert.throws(() => scoreMetricFromActivations(acts, inf, p, f), /infinite: use NaN/);
  assert.throws(() => scoreMetricFromActivations(acts, metric, p, f + 1), /expected N\*P\*F/);
});
