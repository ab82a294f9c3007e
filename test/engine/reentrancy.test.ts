import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow, type PolicyState } from "../../src/index.js";
import { partitions } from "../../src/runtime/inspect.js";

/**
 * A policy reuses one evaluation context across decisions. A decision started from inside
 * another (a getter on the request calling `decide`) and a decision after one that failed must
 * see nothing of the other's evaluation.
 */
describe("decisions do not share evaluation state", () => {
  const policy = compilePolicyOrThrow(
    [
      "rule reader: allow doc.read when context.level == 1",
      "rule blocked: deny doc.read when context.level == 2",
      "rule busy: deny doc.read when count(doc.read by session within 1m) >= 2",
    ].join("\n"),
  );
  const principal = { kind: "human", id: "ann" };

  it("a decide called from a getter during evaluation gets its own answer, and the outer one is unchanged", () => {
    // One decision first, so that the policy holds a context to reuse.
    expect(policy.decide(policy.initialState(), { principal, action: "doc.read", session: "warm", context: { level: 1 }, time: 1 }).decision.effect).toBe("allow");
    let inner: string | undefined;
    const context = {
      get level(): number {
        const d = policy.decide(policy.initialState(), { principal, action: "doc.read", session: "inner", context: { level: 2 }, time: 5 });
        inner = `${d.decision.effect} ${d.decision.rules.join(",")}`;
        return 1;
      },
    };
    const outer = policy.decide(policy.initialState(), { principal, action: "doc.read", session: "outer", context, time: 10 });
    expect(inner).toBe("deny blocked");
    expect(outer.decision.effect).toBe("allow");
    expect(outer.decision.rules).toEqual(["reader"]);
    expect(outer.decision.errors).toEqual([]);
    expect(outer.decision.time).toBe(10);
    expect(outer.decision.watch).toContain("session:outer");
    expect(outer.decision.watch).not.toContain("session:inner");
    expect(partitions(policy, outer.state).map((p) => p.key)).toEqual(["session:outer"]);
  });

  it("after a decision that failed on corrupt state, the next decision starts clean", () => {
    let state: PolicyState = policy.initialState();
    for (let t = 0; t < 2; t++) state = policy.decide(state, { principal, action: "doc.read", session: "s", context: { level: 1 }, time: t }).state;
    const corrupt = { ...state, keys: [[["not", "a", "leaf"]]] } as unknown as PolicyState;
    const bad = policy.decide(corrupt, { principal, action: "doc.read", session: "s", context: { level: 1 }, time: 3 });
    expect(bad.decision.effect).toBe("deny");
    expect(bad.decision.errors.map((e) => e.code)).toEqual(["R303"]);
    const fresh = policy.decide(policy.initialState(), { principal, action: "doc.read", session: "s", context: { level: 1 }, time: 4 });
    expect(fresh.decision.effect).toBe("allow");
    expect(fresh.decision.errors).toEqual([]);
    const busy = policy.decide(state, { principal, action: "doc.read", session: "s", context: { level: 1 }, time: 4 });
    expect(busy.decision.effect).toBe("deny");
    expect(busy.decision.rules).toEqual(["busy"]);
  });
});
