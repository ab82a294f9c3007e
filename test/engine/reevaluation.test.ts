import { describe, expect, it } from "vitest";
import { agent, policyOf } from "./helpers.js";
import { observe, recheck, reinstate, revoke } from "../../src/runtime/operations.js";
import { revocations } from "../../src/runtime/inspect.js";

describe("validUntil, nextDeadline and watch", () => {
  const p = policyOf(`
    rule grant: allow ticket.* for agent * valid for 15m
    rule cool: deny ticket.close when after(ticket.reopen by session within 1m)
    rule watch-risk: deny ticket.* when context.risk >= 0.9
  `);
  const req = (action: string, time: number) => ({ principal: agent("a"), action, session: "s", context: { risk: 0 }, time });

  it("an allow under a grant is valid until the grant ends", () => {
    const { decision } = p.decide(p.initialState(), req("ticket.read", 1000));
    expect(decision.effect).toBe("allow");
    expect(decision.validUntil).toBe(1000 + 15 * 60_000);
    expect(decision.nextDeadline).toBe(1000 + 15 * 60_000);
    expect(decision.watch).toEqual(expect.arrayContaining(["context.risk", "principal.kind", "session:s"]));
  });

  it("a deny caused by a window is valid until the window frees", () => {
    let s = p.initialState();
    s = p.decide(s, req("ticket.reopen", 0)).state;
    const d = p.decide(s, req("ticket.close", 10_000)).decision;
    expect(d.effect).toBe("deny");
    expect(d.validUntil).toBe(60_000);
    // just before validUntil the effect is the same; at validUntil it changes
    expect(p.decide(s, req("ticket.close", 59_999)).decision.effect).toBe("deny");
    expect(p.decide(s, req("ticket.close", 60_000)).decision.effect).toBe("allow");
  });

  it("a decision with nothing time-dependent has validUntil null", () => {
    const q = policyOf(`rule r: allow a.b for agent *`);
    const d = q.decide(q.initialState(), { principal: agent("x"), action: "a.b", time: 0 }).decision;
    expect(d.validUntil).toBeNull();
    expect(d.nextDeadline).toBeNull();
  });
});

describe("recheck", () => {
  const p = policyOf(`
    rule grant: allow ticket.read for agent * valid for 10m
    rule risk: deny ticket.* when context.risk >= 0.9
    rule once: allow doc.read for agent * limit 1 per session
  `);
  const req = (time: number, risk = 0) => ({ principal: agent("a"), action: "ticket.read", session: "s", context: { risk }, time });

  it("a held grant stands before validUntil and falls after it or when context changes", () => {
    const first = p.decide(p.initialState(), req(0));
    expect(first.decision.effect).toBe("allow");
    const held = first.decision;
    expect(recheck(p, first.state, held, req(5 * 60_000)).stands).toBe(true);
    const late = recheck(p, first.state, held, req(10 * 60_000));
    expect(late.stands).toBe(false);
    expect(late.decision.effect).toBe("deny");
    const risky = recheck(p, first.state, held, req(60_000, 0.95));
    expect(risky.stands).toBe(false);
    expect(risky.reason).toContain("allow became deny");
  });

  it("does not charge a limit again", () => {
    const r = { principal: agent("a"), action: "doc.read", session: "s", time: 0 };
    const first = p.decide(p.initialState(), r);
    expect(first.decision.effect).toBe("allow");
    expect(recheck(p, first.state, first.decision, { ...r, time: 5 }).stands).toBe(true);
    expect(p.decide(first.state, { ...r, time: 5 }).decision.effect).toBe("deny");
  });

  it("a decision from another policy version is answered with R308", () => {
    const other = policyOf(`rule grant: allow ticket.read for agent *`);
    const d = other.decide(other.initialState(), req(0)).decision;
    const r = recheck(p, p.initialState(), d, req(1));
    expect(r.stands).toBe(false);
    expect(r.decision.reasons[0]!.code).toBe("R308");
    expect(r.reason).toContain(other.hash);
    expect(r.reason).toContain(p.hash);
  });
});

describe("revocation", () => {
  const p = policyOf(`
    rule work: allow ticket.* for agent *
    rule risk-revoke: revoke * when context.risk >= 0.9 reason "risk too high"
    rule by-principal: revoke admin.* target principal
    rule idp: revoke signal session.revoked
  `);
  const req = (session: string, time: number, risk = 0, action = "ticket.read", id = "a") => ({ principal: agent(id), action, session, context: { risk }, time });

  it("a revoke rule records the session; later requests are denied with the revoking rule until reinstated", () => {
    let s = p.initialState();
    const r1 = p.decide(s, req("s1", 0, 0.95));
    expect(r1.decision.effect).toBe("revoke");
    expect(r1.decision.obligations).toEqual([{ kind: "revoke", rule: "risk-revoke", key: "session:s1" }]);
    s = r1.state;
    const r2 = p.decide(s, req("s1", 1));
    expect(r2.decision.effect).toBe("deny");
    expect(r2.decision.reasons[0]).toMatchObject({ rule: "risk-revoke", code: "R307" });
    expect(p.decide(s, req("s2", 1)).decision.effect).toBe("allow");
    const back = reinstate(p, s, { session: "s1" });
    expect(back.reinstated).toBe(true);
    expect(p.decide(back.state, req("s1", 2)).decision.effect).toBe("allow");
  });

  it("target principal revokes every session of the principal", () => {
    const s = p.decide(p.initialState(), req("s1", 0, 0, "admin.users", "mallory")).state;
    expect(p.decide(s, req("s7", 1, 0, "ticket.read", "mallory")).decision.effect).toBe("deny");
    expect(revocations(p, s)).toEqual([expect.objectContaining({ key: "principal:agent/mallory", rule: "by-principal" })]);
  });

  it("signals revoke, also for sessions never seen; nothing else in state is lost", () => {
    let s = p.decide(p.initialState(), req("s1", 0, 0.95)).state;
    const o = observe(p, s, { signal: "session.revoked", session: "s9", time: 5 });
    expect(o.revoked).toEqual([{ key: "session:s9", rule: "idp", reason: expect.any(String) }]);
    s = o.state;
    expect(revocations(p, s).map((r) => r.key)).toEqual(["session:s1", "session:s9"]);
    expect(p.decide(s, req("s9", 6)).decision.effect).toBe("deny");
  });

  it("revoke and reinstate by API; reinstating an unknown key is R309 and changes nothing", () => {
    const r = revoke(p, p.initialState(), { principal: { kind: "agent", id: "x" } }, "operator", 0);
    expect(r.key).toBe("principal:agent/x");
    expect(p.decide(r.state, req("s", 1, 0, "ticket.read", "x")).decision.reasons[0]!.message).toContain("operator");
    const u = reinstate(p, r.state, { session: "nope" });
    expect(u.reinstated).toBe(false);
    expect(u.error?.code).toBe("R309");
    expect(u.state).toBe(r.state);
    const bad = reinstate(p, r.state, { bogus: 1 } as never);
    expect(bad.error?.code).toBe("R309");
  });
});

describe("step-up obligations", () => {
  const p = policyOf(`
    rule maintainers: allow release.push for human *
    rule approval: challenge release.push unless after(signal approval.granted by session within 1h)
      require human-approval
    rule mfa: challenge secret.read when not context.mfa require mfa satisfied by mfa.verified
    rule read: allow secret.read for human *
  `);
  it("a challenge says what to ask for and what satisfies it", () => {
    const d = p.decide(p.initialState(), { principal: { kind: "human", id: "c" }, action: "release.push", session: "s", time: 0 }).decision;
    expect(d.effect).toBe("challenge");
    expect(d.obligations).toEqual([{ kind: "challenge", rule: "approval", challenge: "human-approval", satisfiedBy: ["approval.granted"] }]);
    const m = p.decide(p.initialState(), { principal: { kind: "human", id: "c" }, action: "secret.read", context: { mfa: false }, time: 0 }).decision;
    expect(m.obligations).toEqual([{ kind: "challenge", rule: "mfa", challenge: "mfa", satisfiedBy: ["mfa.verified"] }]);
  });
  it("the satisfying signal lifts the challenge", () => {
    const s = observe(p, p.initialState(), { signal: "approval.granted", session: "s", time: 10 }).state;
    expect(p.decide(s, { principal: { kind: "human", id: "c" }, action: "release.push", session: "s", time: 20 }).decision.effect).toBe("allow");
  });
  it("a challenge without a matching allow is a deny", () => {
    const d = p.decide(p.initialState(), { principal: { kind: "agent", id: "bot" }, action: "release.push", session: "s", time: 0 }).decision;
    expect(d.effect).toBe("deny");
  });
});
