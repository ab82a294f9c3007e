import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replayTrace } from "../../src/runtime/trace.js";
import { testPolicySource } from "../../src/testing/suite.js";
import { arbPlantedCase, compileCase, reachable } from "./planted.js";

/**
 * Tester power: random policies (scope and sequence rules from the random-policy arbitraries) with
 * a planted violation — `rule planted: allow A for K "x" when P` and `property { never allow A for
 * K "x" }` with P satisfiable from the vocabulary. Among the cases where the violation is reachable
 * (some request of a fixed grid, alone or after one signal, is allowed: decided without the
 * search), `leash test` with the default budget (200 traces) must find it in at least 95%.
 */
describe("property search power on planted violations", () => {
  it("finds >= 95% of reachable planted violations within the default run budget", () => {
    const cases = fc.sample(arbPlantedCase(), { numRuns: 100, seed: 20251122 });
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
      } else if (claim.counterexample) foundBeyondGrid++;
    });
    const rate = found / reach;
    console.log(
      `tester power: found ${found} of ${reach} reachable planted violations (${(rate * 100).toFixed(1)}%) with 200 traces each; ` +
        `${cases.length - reach} cases not reachable by the grid, ${foundBeyondGrid} of them found anyway (reachable through history); ${Date.now() - started} ms`,
    );
    expect(reach).toBeGreaterThanOrEqual(60);
    expect(rate).toBeGreaterThanOrEqual(0.95);
  });
});
