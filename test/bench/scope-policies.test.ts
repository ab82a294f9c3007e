import { describe, expect, it } from "vitest";
import { caslEngine, casbinEngine, cedarEngine, ceilingEngine, type ScopeEngine } from "../../bench/scope-engines.js";
import { attrPolicy, attrRequests, toCasbinAttrPolicy, toCedarAttrPolicies, type AttrRequest } from "../../bench/scope-attributes.js";
import {
  ID_SHAPES,
  REQUEST_TIME,
  SCOPE_SHAPES,
  globMatches,
  scopePolicy,
  scopeRequests,
  toCasbinPolicy,
  toCedarPolicies,
  toLeashRules,
  type ScopePolicy,
} from "../../bench/scope-policies.js";

/** Every engine's rendering of a policy, as text (the attribute shapes' casbin policy names the requests' principals). */
function renderings(policy: ScopePolicy): string[] {
  if (policy.family === "id") return [toLeashRules(policy), toCedarPolicies(policy), toCasbinPolicy(policy)];
  const requests = scopeRequests(policy, 50).map((r) => r.request as AttrRequest);
  return [toLeashRules(policy), toCedarAttrPolicies(policy), toCasbinAttrPolicy(policy, requests)];
}

describe("bench scope generators", () => {
  it("are deterministic", () => {
    for (const shape of SCOPE_SHAPES) {
      const a = scopePolicy(shape, 100);
      const b = scopePolicy(shape, 100);
      expect(renderings(a)).toEqual(renderings(b));
      expect(scopeRequests(a, 200)).toEqual(scopeRequests(b, 200));
    }
  });

  it("make the requested number of rules and an even allow/deny mix", () => {
    for (const shape of SCOPE_SHAPES) {
      for (const n of [10, 100, 1000]) {
        const policy = scopePolicy(shape, n);
        expect(policy.rules).toHaveLength(n);
        const reqs = scopeRequests(policy, 400);
        expect(reqs.filter((r) => r.allow)).toHaveLength(200);
      }
    }
    expect(scopePolicy("one-action", 100).actions).toEqual(["doc.read"]);
    expect(scopePolicy("spread", 100).actions.length).toBeGreaterThanOrEqual(50);
    expect(ID_SHAPES.every((s) => scopePolicy(s, 10).family === "id")).toBe(true);
  });

  it("select by role in every attribute shape; mixed has denies, [high] actions and wildcards", () => {
    for (const n of [10, 100, 1000]) {
      const rbac = attrPolicy("rbac-attr", n);
      expect(rbac.rules.every((r) => r.effect === "allow" && r.role !== null && !r.sameTenant)).toBe(true);
      expect(attrPolicy("abac-cond", n).rules.every((r) => r.sameTenant && r.riskBelow !== null)).toBe(true);
      const mixed = attrPolicy("mixed", n);
      expect(mixed.rules).toHaveLength(n);
      expect(mixed.rules.filter((r) => r.effect === "deny").length).toBeGreaterThanOrEqual(2);
      expect(mixed.rules.some((r) => r.targets.some((t) => mixed.high.includes(t)))).toBe(true);
      expect(mixed.rules.some((r) => r.targets.some((t) => t.endsWith(".*")))).toBe(true);
    }
    expect(toLeashRules(attrPolicy("abac-cond", 10))).toContain('for human * { role: "r');
    expect(toLeashRules(attrPolicy("abac-cond", 10))).toContain("when resource.tenant == principal.tenant and context.risk <");
  });

  it("draw every near miss of the mixed shape", () => {
    const variants = new Set(attrRequests(attrPolicy("mixed", 100), 2000, REQUEST_TIME).map((r) => r.variant));
    expect([...variants].sort()).toEqual(
      ["allow", "denied-dept", "high-risk", "no-mfa", "other-action", "other-kind", "other-role", "other-tenant", "suspended", "unknown-action", "wildcard-high"].sort(),
    );
  });

  it("glob `*` matches any run, including `/` and the empty run", () => {
    expect(globMatches("tenant-1/*", "tenant-1/a/b")).toBe(true);
    expect(globMatches("tenant-1/*", "tenant-1/")).toBe(true);
    expect(globMatches("tenant-1/*", "tenant-12/a")).toBe(false);
    expect(globMatches("a*c*e", "abcde")).toBe(true);
    expect(globMatches("a*c*e", "abde")).toBe(false);
  });

  for (const shape of SCOPE_SHAPES) {
    it(`ceiling, CASL, casbin and Cedar agree with the reference (${shape})`, async () => {
      for (const n of [10, 100]) {
        const policy = scopePolicy(shape, n);
        const reqs = scopeRequests(policy, 200);
        const engines: ScopeEngine[] = [
          ceilingEngine(policy, reqs),
          caslEngine(policy, reqs),
          await casbinEngine(policy, reqs),
          cedarEngine(policy, reqs),
        ];
        for (const engine of engines) {
          const wrong = reqs.flatMap((r, i) => (engine.decide(i) === r.allow ? [] : [{ engine: engine.name, ...r }]));
          expect(wrong).toEqual([]);
        }
      }
    });
  }
});
