import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replayTrace } from "../../src/runtime/trace.js";
import { testPolicySource } from "../../src/testing/suite.js";
import { arbHardPlantedCase, arbPlantedCase, compileCase, reachable, type PlantedCase } from "./planted.js";

/**
 * Tester power: random policies (scope and sequence rules from the random-policy arbitraries) with
 * a planted violation — `rule planted: allow A for K "x" when P` and `property { never allow A for
 * K "x" }` with P satisfiable from the vocabulary. Among the cases where the violation is reachable
 * (some request of a fixed grid, alone or after one signal, is allowed: decided without the
 * search), `leash test` with the default budget must find it in at least 95%: on plain cases, and
 * on hard cases that carry revoke signals, session labels that block, and limits (see planted.ts).
 */
const DEEP = process.env.LEASH_DEEP === "1";

function power(cases: readonly PlantedCase[], label: string): { found: number; reach: number } {
  let reach = 0;
  let found = 0;
  let foundBeyondGrid = 0;
  const started = Date.now();
  cases.forEach((c, i) => {
    const policy = compileCase(c);
    expect(policy, c.source).not.toBeNull();
    const report = testPolicySource(c.source, { file: "planted.rules", seed: 1000 + i });
    const claim = report.properties.find((p) => p.property === "planted")!;
    const isReachable = reachable(policy!, c);
    if (claim.counterexample) {
      // Every counterexample is genuine: replayed through the policy, its last request is allowed.
      const { steps } = replayTrace(policy!, claim.counterexample.trace as unknown as Record<string, unknown>[]);
      expect(steps[steps.length - 1]!.decision!.effect).toBe("allow");
      expect(steps[steps.length - 1]!.event).toMatchObject({ action: c.action, principal: { kind: c.kind, id: "x" } });
    }
    if (isReachable) {
      reach++;
      if (claim.counterexample) found++;
      else console.log(`${label}: missed (hazards: ${c.hazards.join(", ") || "none"})\n${c.source}`);
    } else if (claim.counterexample) foundBeyondGrid++;
  });
  console.log(
    `tester power (${label}): found ${found} of ${reach} reachable planted violations (${((found / reach) * 100).toFixed(1)}%) at the default budget; ` +
      `${cases.length - reach} cases not reachable by the grid, ${foundBeyondGrid} of them found anyway (reachable through history); ${Date.now() - started} ms`,
  );
  return { found, reach };
}

describe("property search power on planted violations", () => {
  it("finds >= 95% of reachable planted violations at the default budget", () => {
    const n = DEEP ? 300 : 60;
    const { found, reach } = power(fc.sample(arbPlantedCase(), { numRuns: n, seed: 20251122 }), "plain");
    expect(reach).toBeGreaterThanOrEqual(n * 0.6);
    expect(found / reach).toBeGreaterThanOrEqual(0.95);
  });

  it("finds >= 95% of them in policies with revoke signals, blocking labels and limits", () => {
    const n = DEEP ? 300 : 60;
    const cases = fc.sample(arbHardPlantedCase(), { numRuns: n, seed: 20261201 });
    // Every hazard is in the sample.
    for (const h of ["revoke signal", "revoke on a signal's history", "label that blocks", "limit per session", "revoke by principal"]) expect(cases.some((c) => c.hazards.includes(h))).toBe(true);
    expect(cases.some((c) => c.source.includes("limit 1 per session\n\nproperty"))).toBe(true);
    const { found, reach } = power(cases, "revoke signals, labels, limits");
    expect(reach).toBeGreaterThanOrEqual(n * 0.5);
    expect(found / reach).toBeGreaterThanOrEqual(0.95);
  });
});
