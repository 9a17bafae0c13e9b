/**
 * Every op: forward values against a plain-JS float64 reference (float32 graphs use ORT's fused
 * kernels, float64 graphs the composite paths), and the VJP of every operand against central
 * finite differences in float64 graphs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CASES, DIFFERENTIABLE_OPS } from "./op-cases.js";
import { caseValues, gradChecks, runForward } from "./harness.js";

test("the cases cover every differentiable op", () => {
  const covered = new Set(CASES.filter((c) => !c.forwardOnly).flatMap((c) => c.covers));
  assert.deepEqual(DIFFERENTIABLE_OPS.filter((op) => !covered.has(op)), []);
});

test("forward value of every op matches the JS reference", async (t) => {
  for (const [k, c] of CASES.entries()) {
    await t.test(c.name, async () => {
      const values = caseValues(c, 1000 + k);
      const want = c.ref(values);
      for (const [dtype, tol] of [["float32", 2e-6], ["float64", 1e-12]] as const) {
        const got = await runForward(c, values, dtype);
        assert.deepEqual([...got.shape], [...want.shape], `${dtype} shape`);
        got.data.forEach((v, i) => {
          const w = want.data[i];
          assert.ok(Math.abs(Number(v) - w) <= tol * (1 + Math.abs(w)), `${dtype} y[${i}] = ${v}, want ${w}`);
        });
      }
    });
  }
});

test("VJP of every operand of every op matches central finite differences (float64)", async (t) => {
  for (const [k, c] of CASES.entries()) {
    if (c.forwardOnly) continue;
    await t.test(c.name, async () => {
      const checks = await gradChecks(c, caseValues(c, 2000 + k));
      assert.ok(checks.length > 0, "no float inputs to check");
      for (const { input, index, analytic, numeric } of checks) {
        const err = Math.abs(analytic - numeric);
        assert.ok(err <= 1e-6 * Math.max(Math.abs(analytic), Math.abs(numeric)) + 1e-8, `d${input}[${index}]: analytic ${analytic}, finite difference ${numeric}`);
      }
    });
  }
});
