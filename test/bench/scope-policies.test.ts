import { describe, expect, it } from "vitest";
import { caslEngine, casbinEngine, cedarEngine, ceilingEngine, type ScopeEngine } from "../../bench/scope-engines.js";
import {
  SCOPE_SHAPES,
  globMatches,
  scopePolicy,
  scopeRequests,
  toCasbinPolicy,
  toCedarPolicies,
  toLeashRules,
} from "../../bench/scope-policies.js";

describe("bench scope generators", () => {
  it("are deterministic", () => {
    for (const shape of SCOPE_SHAPES) {
      const a = scopePolicy(shape, 100);
      const b = scopePolicy(shape, 100);
      expect(toLeashRules(a)).toBe(toLeashRules(b));
      expect(toCedarPolicies(a)).toBe(toCedarPolicies(b));
      expect(toCasbinPolicy(a)).toBe(toCasbinPolicy(b));
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
