import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompiledRules, generateRules } from "../../src/compile/generate.js";
import { Policy } from "../../src/runtime/engine.js";
import type { PolicyState } from "../../src/runtime/types.js";
import { arbSequencePolicy, arbTrace, DEFAULT_VOCABULARY } from "../../src/testing/arbitraries-policy.js";
import { DEPTH, TIMEOUT } from "./harness.js";
import { agent, policyOf } from "../engine/helpers.js";
import { observe } from "../../src/runtime/operations.js";

/**
 * History terms (src/compile/terms.ts) are a second way to compose the commonest history
 * conditions (both read the operators through the one reader, src/runtime/readers.ts). These
 * tests pin which conditions take that way, and check that a policy decides exactly as the same
 * policy with every rule on its closures: the same decisions, deadlines, errors and states.
 */

/** The same policy with history terms turned off: every rule is evaluated through its closures. */
function withoutTerms(policy: Policy): Policy {
  const rules = new CompiledRules(policy.ir);
  for (const r of rules.all()) (r as { terms: unknown }).terms = null;
  return new Policy(policy.ir, rules, policy.hash, { maxKeys: policy.maxKeys, limits: policy.limits });
}

function termCounts(src: string): Record<string, number | null> {
  const policy = policyOf(src);
  return Object.fromEntries(generateRules(policy.ir).map((r) => [r.id, r.terms === null ? null : r.terms.length]));
}

describe("history terms", () => {
  it("take conditions that are history readings joined by `and`, each perhaps under `not`", () => {
    expect(
      termCounts(`
rule base: allow *
rule a: deny x.go when after(y.go by session within 10s)
rule b: deny x.go when count(y.go by session within 10s) >= 3 and not after(z.go by session)
rule c: flag x.go when gap(x.go by session) < 500ms and 2s > since(y.go by principal)
rule d: challenge x.go when sequence(y.go, z.go by session within 1m) and rate(x.go by session, 5 per 1s)
rule e: deny x.go when session has secret
rule taint: flag y.go label session += secret
`),
    ).toEqual({ base: null, a: 1, b: 2, c: 2, d: 2, e: 1, taint: null });
  });

  it("leave other conditions, and rules with selectors, to their closures", () => {
    expect(
      termCounts(`
rule base: allow *
rule a: deny x.go when after(y.go by session within 10s) or after(z.go by session)
rule b: deny x.go when since(y.go by session) > context.limit
rule c: deny x.go when distinct(context.ip by session within 1m) > 2
rule d: deny x.go for agent "a" when after(y.go by session)
rule e: deny x.go when context.risk > 3 and after(y.go by session)
`),
    ).toEqual({ base: null, a: null, b: null, c: null, d: null, e: null });
  });

  it("decide as the closures do: decisions, deadlines, errors and states are equal", () => {
    const V = DEFAULT_VOCABULARY;
    const traces = fc.array(arbTrace(V, { minLength: 1, maxLength: 12 }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(arbSequencePolicy(V), traces, (source, ts) => {
        const fast = policyOf(source);
        const slow = withoutTerms(fast);
        for (const trace of ts) {
          let a: PolicyState = fast.initialState();
          let b: PolicyState = slow.initialState();
          for (const step of trace) {
            if ("decide" in step) {
              const x = fast.decide(a, step.decide);
              const y = slow.decide(b, step.decide);
              expect(x.decision).toEqual(y.decision);
              a = x.state;
              b = y.state;
            } else {
              const x = observe(fast, a, step.observe);
              const y = observe(slow, b, step.observe);
              expect(x).toEqual({ ...y, state: x.state });
              a = x.state;
              b = y.state;
            }
            expect(JSON.stringify(a)).toBe(JSON.stringify(b));
          }
        }
      }),
      { numRuns: 300 * DEPTH },
    );
  }, TIMEOUT);

  it("report a register that is not a number as a corrupt state", () => {
    const policy = policyOf("rule base: allow *\nrule a: deny x.go when count(y.go by session within 10s) >= 2\n");
    let s = policy.initialState();
    s = policy.decide(s, { principal: agent("a"), action: "y.go", session: "s1", time: 1000 }).state;
    const bad = JSON.parse(JSON.stringify(s).replace(/("r":\[[^\]]*?)1000/, '$1"soon"')) as PolicyState;
    const d = policy.decide(bad, { principal: agent("a"), action: "x.go", session: "s1", time: 2000 }).decision;
    expect(d.effect).toBe("deny");
    expect(d.reasons[0]!.code).toBe("R303");
    expect(d.reasons[0]!.message).toContain("register");
  });
});
