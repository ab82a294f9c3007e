import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PolicyFile, RuleDecl } from "../../src/ast/nodes.js";
import { compilePolicy } from "../../src/compile/compile.js";
import { printPolicy } from "../../src/format/index.js";
import { arbScopePolicy } from "../../src/testing/arbitraries-policy.js";
import { readerNames } from "../../src/testing/plans.js";
import { ABSENT, PRESENT, Solver, type Solution } from "../../src/testing/solve.js";
import { vocabularyOf } from "../../src/testing/vocabulary.js";
import { compiled } from "./helpers.js";

/** A request carrying a solution's values (principal `human/p1` unless the solution says otherwise). */
function requestOf(name: string, s: Solution): Record<string, unknown> {
  const roots: Record<string, Record<string, unknown>> = { principal: { kind: "human", id: "p1" }, resource: {}, context: {} };
  for (const [path, slot] of s.assign) {
    if (slot === ABSENT) continue;
    const [root, ...segs] = path.split(".");
    let cur = roots[root!]!;
    for (const k of segs.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
    cur[segs[segs.length - 1]!] = slot === PRESENT ? "v1" : slot;
  }
  return { action: name, principal: roots.principal, ...(Object.keys(roots.resource!).length ? { resource: roots.resource } : {}), ...(Object.keys(roots.context!).length ? { context: roots.context } : {}), session: "s1", time: 0 };
}

/** The rule alone as a flag rule: its name in `decision.flags` (without an error) says it matched. */
function probeOf(ast: PolicyFile, rule: RuleDecl) {
  const clauses = rule.clauses.filter((c) => c.kind === "WhenClause");
  const text = printPolicy({ ...ast, items: [{ ...rule, clauses, effect: "flag", name: { ...rule.name, value: "probe" } }], comments: [] });
  const r = compilePolicy(text);
  expect(r.policy, text).not.toBeNull();
  return r.policy!;
}

describe("solver: attribute values that make a rule match or not", () => {
  it("puts the first true and the first false value on the two sides of a constant", () => {
    const { policy } = compiled("rule r: deny refund.issue when context.amount > 100\n");
    const s = new Solver(policy.ir);
    const rule = policy.ir.rules[0]!;
    expect(s.rule(rule, true, "refund.issue").map((x) => x.assign.get("context.amount"))).toEqual([100.1, 101, 1001]);
    expect(s.rule(rule, false, "refund.issue").map((x) => x.assign.get("context.amount"))).toEqual([100, 99.9, 0]);
  });

  it("leaves history to the trace: operators and labels come back as needs", () => {
    const { policy } = compiled("rule r: deny email.send when after(card.view by session within 5m) and context.risk >= 0.5\nrule l: flag x.y label session += t\nrule u: deny z.z unless session has t\n");
    const s = new Solver(policy.ir);
    const [hold] = s.rule(policy.ir.rules[0]!, true, "email.send");
    expect([...hold!.assign]).toEqual([["context.risk", 0.5]]);
    expect(hold!.needs.map((n) => [n.expr.t, n.want])).toEqual([["op", true]]);
    const [label] = s.rule(policy.ir.rules[2]!, true, "z.z");
    expect(label!.needs.map((n) => [n.expr.t, n.want])).toEqual([["label", false]]);
  });

  it("a selector fails with a kind it does not name, a glob with a path it does not match", () => {
    const { policy } = compiled('rule r: allow doc.read for agent *, service "ci-*" on repo/*\n');
    const s = new Solver(policy.ir);
    const miss = s.rule(policy.ir.rules[0]!, false, "doc.read");
    expect(miss.map((x) => Object.fromEntries(x.assign))).toEqual([{ "principal.kind": "human" }, { "principal.kind": "service", "principal.id": "other" }, { "resource.path": "other/x" }]);
    expect(s.rule(policy.ir.rules[0]!, true, "doc.write")).toEqual([]);
  });

  it("`has` and a comparison on the same attribute merge into one value", () => {
    const { policy } = compiled("rule r: revoke * when context has risk and context.risk >= 0.9\n");
    const s = new Solver(policy.ir);
    expect(s.rule(policy.ir.rules[0]!, true, "a.b").map((x) => x.assign.get("context.risk"))).toEqual([0.9, 0.91, 10]);
    expect(s.rule(policy.ir.rules[0]!, false, "a.b").map((x) => x.assign.get("context.risk"))).toEqual([ABSENT, 0.89, 0.8, 0]);
  });

  it("a [high] action is reached only by a rule that names it", () => {
    const { policy } = compiled("actions {\n  a.read\n  a.delete [high]\n}\nrule w: allow a.*\nrule n: allow a.delete\n");
    const s = new Solver(policy.ir);
    expect(s.rule(policy.ir.rules[0]!, true, "a.delete")).toEqual([]);
    expect(s.rule(policy.ir.rules[1]!, true, "a.delete")).toHaveLength(1);
  });

  it("law: on random scope policies, every solution makes the engine's match what was asked for", () => {
    let checked = 0;
    fc.assert(
      fc.property(arbScopePolicy(), (source) => {
        const { policy, ast } = compiled(source);
        const s = new Solver(policy.ir);
        const v = vocabularyOf(policy);
        const decls = ast.items.filter((i): i is RuleDecl => i.kind === "RuleDecl");
        for (const [i, rule] of policy.ir.rules.entries()) {
          const probe = probeOf(ast, decls[i]!);
          // A wildcard allow never reaches a [high] action, which its flag copy would.
          for (const name of readerNames(rule, v, 2).filter((n) => s.reaches(rule, n)))
            for (const want of [true, false])
              for (const sol of s.rule(rule, want, name)) {
                const d = probe.decide(probe.initialState(), requestOf(name, sol)).decision;
                const matched = d.flags.includes("probe") && !d.errors.some((e) => e.rule === "probe");
                expect(matched, `${source}\n${rule.id} ${name} want ${want}: ${JSON.stringify(requestOf(name, sol))}`).toBe(want);
                checked++;
              }
        }
      }),
      { numRuns: process.env.LEASH_DEEP === "1" ? 500 : 60 },
    );
    expect(checked).toBeGreaterThan(100);
  });
});
