import { describe, expect, it } from "vitest";
import { testPolicySource } from "../../src/testing/suite.js";
import { example } from "./helpers.js";

describe("coverage: which rules decided, which clauses were seen true and false", () => {
  it("counts test steps and property traces", () => {
    const r = testPolicySource(example("deploy-bot.rules"), { seed: 1, coverage: true });
    expect(r.ok).toBe(true);
    const c = r.coverage!;
    const rule = (id: string) => c.rules.find((x) => x.rule === id)!;
    expect(rule("validate-builds").decided).toBeGreaterThan(0);
    expect(rule("release-approval").decided).toBeGreaterThan(0);
    const clause = rule("release-approval").clauses[0]!;
    expect(clause.text).toBe("unless after(signal approval.granted by session within 1h)");
    expect(clause.true).toBeGreaterThan(0);
    expect(clause.false).toBeGreaterThan(0);
    expect(c.ruleRatio[1]).toBe(3);
    expect(c.clauseRatio).toEqual([1, 1]);
  });

  it("lists rules never exercised, and clauses never seen false", () => {
    const r = testPolicySource(
      `rule reads: allow doc.read
rule never: allow doc.write for human "nobody-uses-this"
rule risky: deny doc.read when context.risk >= 0.9

test "reads" {
  human "a" doc.read context { risk: 0.1 } => allow
  human "a" doc.read context { risk: 0.95 } => deny by risky
}`,
      { seed: 1, coverage: true },
    );
    const c = r.coverage!;
    expect(c.notExercised).toEqual(["never"]);
    expect(c.ruleRatio).toEqual([2, 3]);
    const risky = c.rules.find((x) => x.rule === "risky")!.clauses[0]!;
    expect([risky.true, risky.false, risky.error]).toEqual([1, 1, 0]);
  });

  it("a clause that cannot be evaluated counts as an error, not as true", () => {
    const r = testPolicySource(
      `rule reads: allow doc.read
rule risky: deny doc.read when context.risk >= 0.9
test "no risk" {
  human "a" doc.read => deny by risky
}`,
      { seed: 1, coverage: true },
    );
    const risky = r.coverage!.rules.find((x) => x.rule === "risky")!.clauses[0]!;
    expect([risky.true, risky.false, risky.error]).toEqual([0, 0, 1]);
  });

  it("workflow deviation rules are rules too", () => {
    const r = testPolicySource(example("customer-workflow.rules"), { seed: 1, coverage: true });
    expect(r.coverage!.rules.map((x) => x.rule)).toContain("billing-export");
  });
});
