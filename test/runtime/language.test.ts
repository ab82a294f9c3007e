import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { compoundValue } from "../../src/runtime/keys.js";
import type { PolicyState } from "../../src/runtime/types.js";
import { partitions } from "../../src/runtime/inspect.js";

/**
 * The runtime side of compound keys, `including this`, distinct limits and scoped workflows:
 * decisions as docs/semantics.md gives them (the differential test checks the same constructs
 * against the reference monitor on random policies).
 */

const alice = { kind: "human", id: "alice" };

function run(source: string, requests: readonly Record<string, unknown>[], options = {}) {
  const policy = compilePolicyOrThrow(source, options);
  let state: PolicyState = policy.initialState();
  return {
    policy,
    decisions: requests.map((r, i) => {
      const out = policy.decide(state, { principal: alice, time: i * 1000, ...r });
      state = out.state;
      return out.decision;
    }),
    state: () => state,
  };
}

describe("compound keys", () => {
  it("encode each part with its length: different tuples never share a key", () => {
    const part = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(",", ":", "1:", ",1:", "0:"));
    fc.assert(
      fc.property(fc.array(part, { minLength: 2, maxLength: 4 }), fc.array(part, { minLength: 2, maxLength: 4 }), (a, b) => {
        fc.pre(a.length === b.length && a.join("\u0000") !== b.join("\u0000"));
        expect(compoundValue(a)).not.toBe(compoundValue(b));
      }),
      { numRuns: 2000 },
    );
    expect(compoundValue(["orders/1", "s1"])).toBe("8:orders/1,2:s1");
    expect(compoundValue(["a", null])).toBeNull();
  });

  it("keep one history per combination, whatever order the parts are written in", () => {
    const source = "rule ok: allow *\nrule r: deny order.refund unless after(order.lookup by (session, resource.path) within 30m)\nrule c: deny order.cancel when count(order.lookup by (resource.path, session) within 1h) >= 1\n";
    const { decisions, policy, state } = run(source, [
      { action: "order.lookup", session: "s1", resource: { path: "orders/1" } },
      { action: "order.refund", session: "s1", resource: { path: "orders/1" } },
      { action: "order.refund", session: "s1", resource: { path: "orders/2" } },
      { action: "order.refund", session: "s2", resource: { path: "orders/1" } },
      { action: "order.cancel", session: "s1", resource: { path: "orders/1" } },
      { action: "order.refund", session: "s1" },
    ]);
    expect(decisions.map((d) => d.effect)).toEqual(["allow", "allow", "deny", "deny", "deny", "deny"]);
    expect(decisions[5]!.errors.map((e) => e.code)).toContain("R305");
    const keys = partitions(policy, state()).map((p) => p.key);
    expect(keys).toContain("(resource.path,session):8:orders/1,2:s1");
  });

  it("hold each part to the key-length limit on its own (R302)", () => {
    const source = "rule ok: allow *\nrule r: deny a.y when after(a.x by (session, context.tag))\n";
    const ok = run(source, [{ action: "a.y", session: "s".repeat(64), context: { tag: "t".repeat(64) } }], { limits: { maxKeyLength: 64 } });
    expect(ok.decisions[0]!.effect).toBe("allow");
    const long = run(source, [{ action: "a.y", session: "s1", context: { tag: "t".repeat(65) } }], { limits: { maxKeyLength: 64 } });
    expect(long.decisions[0]!.effect).toBe("deny");
    expect(long.decisions[0]!.reasons.map((r) => r.code)).toContain("R302");
  });

  it("revoke a combination with target (a, b): other combinations go on", () => {
    const source = "rule ok: allow *\nrule r: revoke a.x when context.risk > 0.9 target (principal, context.ip)\n";
    const { decisions } = run(source, [
      { action: "a.x", context: { risk: 1, ip: "10.0.0.1" } },
      { action: "a.y", context: { risk: 0, ip: "10.0.0.1" } },
      { action: "a.y", context: { risk: 0, ip: "10.0.0.2" } },
    ]);
    expect(decisions.map((d) => d.effect)).toEqual(["revoke", "deny", "allow"]);
    expect(decisions[1]!.reasons.map((r) => r.code)).toContain("R307");
  });
});

describe("including this", () => {
  it("counts the request being decided, as allowed, when it is one of the events", () => {
    const source = "rule ok: allow *\nrule spread: deny * when distinct(action.domain by principal within 5m including this) > 2\nrule seen: flag * when distinct(action.domain by principal within 5m) > 2\n";
    const { decisions } = run(source, [{ action: "crm.read" }, { action: "hr.read" }, { action: "billing.read" }, { action: "crm.list" }, { action: "hr.list" }]);
    expect(decisions.map((d) => d.effect)).toEqual(["allow", "allow", "deny", "allow", "allow"]);
    expect(decisions.map((d) => d.flags.length > 0)).toEqual([false, false, false, false, false]);
  });

  it("says when the answer changes: when the oldest counted event leaves the window", () => {
    const source = "rule ok: allow *\nrule burst: deny a.x when count(attempted a.x by principal within 10s including this) > 2\n";
    const { decisions } = run(source, [{ action: "a.x" }, { action: "a.x" }, { action: "a.x" }]);
    expect(decisions.map((d) => d.effect)).toEqual(["allow", "allow", "deny"]);
    expect(decisions[2]!.validUntil).toBe(10_000);
  });
});

describe("distinct limits", () => {
  it("admit a value already used, and a new one only while fewer than N are live", () => {
    const source = "rule one: allow secret.read limit 1 distinct resource per session within 10s\n";
    const at = (path: string, time: number) => ({ action: "secret.read", session: "s1", resource: { path }, time });
    const { decisions } = run(source, [at("a", 0), at("a", 1000), at("b", 2000), at("b", 11_000), at("a", 12_000)]);
    expect(decisions.map((d) => d.effect)).toEqual(["allow", "allow", "deny", "allow", "deny"]);
    expect(decisions[2]!.validUntil).toBe(11_000);
    expect(decisions[2]!.reasons.map((r) => r.code)).toContain("R310");
  });

  it("fail closed without a value to count (R301)", () => {
    const { decisions } = run("rule t: allow r.read limit 2 distinct context.tenant per principal\n", [{ action: "r.read" }]);
    expect(decisions[0]!.effect).toBe("deny");
    expect(decisions[0]!.errors.map((e) => e.code)).toEqual(["R301"]);
  });
});

describe("scoped workflows", () => {
  it("deviate on an action of the scope that is not an allowed next step, and ignore the rest", () => {
    const source = "rule ok: allow *\nworkflow export by session over customer.*, invoice.*:\n  customer.lookup -> invoice.read* -> invoice.export\n  on deviation deny\n";
    const { decisions } = run(source, [
      { action: "customer.lookup", session: "s1" },
      { action: "ticket.read", session: "s1" },
      { action: "customer.records.bulk", session: "s1" },
      { action: "invoice.read", session: "s1" },
      { action: "invoice.export", session: "s1" },
    ]);
    expect(decisions.map((d) => d.effect)).toEqual(["allow", "allow", "deny", "allow", "allow"]);
    expect(decisions[2]!.rules).toEqual(["export"]);
  });
});
