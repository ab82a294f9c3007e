import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { StoreError, type Store } from "../../src/stores/store.js";

const agent = { kind: "agent", id: "bot" };

describe("createGuard over the memory store", () => {
  it("is exact under 1,000 concurrent decisions: limit 1 per session allows one", async () => {
    const policy = compilePolicyOrThrow("rule one: allow secret.read limit 1 per session");
    const guard = createGuard({ policy, now: () => 1_000 });
    const decisions = await Promise.all(Array.from({ length: 1000 }, () => guard.decide({ principal: agent, action: "secret.read", session: "s1" })));
    expect(decisions.filter((d) => d.effect === "allow")).toHaveLength(1);
    expect(decisions.filter((d) => d.effect === "deny" && d.reasons.some((r) => r.code === "R310"))).toHaveLength(999);
  });

  it("fills the time from its clock and keeps history between calls", async () => {
    let t = 0;
    const policy = compilePolicyOrThrow("rule base: allow *\nrule no-exfil: deny email.send when after(secret.read by session within 10m)");
    const guard = createGuard({ policy, now: () => t });
    t = 1_000;
    expect((await guard.decide({ principal: agent, action: "secret.read", session: "s" })).time).toBe(1_000);
    t = 2_000;
    expect((await guard.decide({ principal: agent, action: "email.send", session: "s" })).effect).toBe("deny");
    t = 1_000 + 600_000;
    expect((await guard.decide({ principal: agent, action: "email.send", session: "s" })).effect).toBe("allow");
  });

  it("revokes, reinstates and observes signals", async () => {
    const policy = compilePolicyOrThrow("rule base: allow *\nrule idp: revoke signal session.revoked");
    const guard = createGuard({ policy, now: () => 5 });
    const req = { principal: agent, action: "ticket.read", session: "s" };
    expect(await guard.revoke({ session: "s" }, "operator")).toEqual({ key: "session:s" });
    expect((await guard.decide(req)).reasons[0]!.code).toBe("R307");
    expect((await guard.reinstate({ session: "s" })).reinstated).toBe(true);
    expect((await guard.decide(req)).effect).toBe("allow");
    const seen = await guard.observe({ signal: "session.revoked", session: "s" });
    expect(seen.revoked.map((r) => r.key)).toEqual(["session:s"]);
    expect((await guard.decide(req)).effect).toBe("deny");
  });

  it("denies with R304 for a request it cannot read, and reports every decision", async () => {
    const events: string[] = [];
    const policy = compilePolicyOrThrow("rule base: allow *");
    const guard = createGuard({ policy, onDecision: (e) => events.push(e.kind) });
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error("boom"); } });
    const d = await guard.decide(hostile as never);
    expect(d.effect).toBe("deny");
    expect(d.reasons[0]!.code).toBe("R304");
    await guard.decide({ principal: agent, action: "a.b" });
    expect(events).toEqual(["decision"]);
  });
});

describe("createGuard fails closed on the store", () => {
  const policy = compilePolicyOrThrow("rule base: allow *");
  const req = { principal: agent, action: "a.b", session: "s" };

  it("denies with the store's code and message when the store throws", async () => {
    const failing: Store = { kind: "failing", transact: () => { throw new StoreError("R314", "connection refused"); }, close: async () => {} };
    const d = await createGuard({ policy, store: failing }).decide(req);
    expect(d.effect).toBe("deny");
    expect(d.reasons).toEqual([{ rule: null, effect: "deny", code: "R314", message: "connection refused" }]);
  });

  it("takes the code of a StoreError from another copy of the class (leash/redis is a bundle of its own)", async () => {
    class StoreError extends Error {
      override readonly name = "StoreError";
      constructor(readonly code: string, message: string) {
        super(message);
      }
    }
    const other: Store = { kind: "other", transact: () => Promise.reject(new StoreError("R330", "busy")), close: async () => {} };
    const d = await createGuard({ policy, store: other }).decide(req);
    expect(d.reasons).toEqual([{ rule: null, effect: "deny", code: "R330", message: "busy" }]);
  });

  it("denies with R315 when the store does not answer within timeoutMs", async () => {
    const hanging: Store = { kind: "hanging", transact: () => new Promise(() => {}), close: async () => {} };
    const d = await createGuard({ policy, store: hanging, timeoutMs: 20 }).decide(req);
    expect(d.reasons[0]!.code).toBe("R315");
  });

  it("denies after close", async () => {
    const guard = createGuard({ policy });
    await guard.close();
    expect((await guard.decide(req)).reasons[0]).toMatchObject({ code: "R314" });
  });
});
