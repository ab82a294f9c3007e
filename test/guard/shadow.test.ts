import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, type GuardEvent } from "../../src/guard/index.js";
import { memoryStore } from "../../src/stores/memory.js";
import { StoreError, type Store } from "../../src/stores/store.js";

const human = { kind: "human", id: "ana" };
const enforced = compilePolicyOrThrow(`rule logins: allow login.attempt
rule stuffing: challenge login.attempt when count(signal login.fail by context.ip within 1m) >= 3 require captcha`);
const candidate = compilePolicyOrThrow(`rule logins: allow login.attempt
rule stuffing: challenge login.attempt when count(signal login.fail by context.ip within 1m) >= 5 require captcha`);

/** Waits until the candidate's events have arrived (they are reported after the enforced decision). */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("decision ids", () => {
  it("every event has an id; a caller's id is kept, ids the Guard makes are distinct", async () => {
    const events: GuardEvent[] = [];
    const guard = createGuard({ policy: enforced, now: () => 0, onDecision: (e) => events.push(e) });
    await guard.decide({ principal: human, action: "login.attempt", context: { ip: "a" } }, { id: "req-1" });
    await guard.decide({ principal: human, action: "login.attempt", context: { ip: "a" } });
    await guard.decide({ principal: human, action: "login.attempt", context: { ip: "a" } }, { id: "" });
    await guard.observe({ signal: "login.fail", context: { ip: "a" } });
    await guard.revoke({ session: "s" }, "test");
    await guard.reinstate({ session: "s" });
    const ids = events.map((e) => e.id);
    expect(ids[0]).toBe("req-1");
    expect(new Set(ids).size).toBe(6);
    for (const id of ids.slice(1)) expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    expect(events.every((e) => e.policy === enforced)).toBe(true);
  });
});

describe("shadow mode", () => {
  it("decides with the candidate on its own state, reports flips, enforces only the policy", async () => {
    const events: GuardEvent[] = [];
    const guard = createGuard({ policy: enforced, shadow: candidate, now: () => 1_000, onDecision: (e) => events.push(e) });
    const attempt = () => guard.decide({ principal: human, action: "login.attempt", context: { ip: "203.0.113.9" } });
    const effects: string[] = [];
    for (let i = 0; i < 6; i++) {
      effects.push((await attempt()).effect);
      await guard.observe({ signal: "login.fail", context: { ip: "203.0.113.9" } });
    }
    await settle();
    expect(effects).toEqual(["allow", "allow", "allow", "challenge", "challenge", "challenge"]);
    const shadows = events.filter((e): e is Extract<GuardEvent, { kind: "shadow" }> => e.kind === "shadow");
    expect(shadows.map((e) => [e.decision.effect, e.candidate.effect, e.flipped])).toEqual([
      ["allow", "allow", false],
      ["allow", "allow", false],
      ["allow", "allow", false],
      ["challenge", "allow", true],
      ["challenge", "allow", true],
      ["challenge", "challenge", false],
    ]);
    const decisions = events.filter((e) => e.kind === "decision");
    expect(shadows.map((e) => e.id)).toEqual(decisions.map((e) => e.id));
    expect(shadows.every((e) => e.policy === enforced && e.candidatePolicy === candidate && e.candidate.policyHash === candidate.hash)).toBe(true);
  });

  it("revocations by API reach the candidate", async () => {
    const events: GuardEvent[] = [];
    const base = compilePolicyOrThrow("rule base: allow *");
    const other = compilePolicyOrThrow("rule base: allow *\nrule r: flag x.y");
    const guard = createGuard({ policy: base, shadow: { policy: other, store: memoryStore() }, onDecision: (e) => events.push(e) });
    await guard.revoke({ session: "s" }, "operator");
    await guard.decide({ principal: human, action: "x.y", session: "s" });
    await guard.reinstate({ session: "s" });
    await guard.decide({ principal: human, action: "x.y", session: "s" });
    await settle();
    const shadows = events.filter((e): e is Extract<GuardEvent, { kind: "shadow" }> => e.kind === "shadow");
    expect(shadows.map((e) => [e.decision.effect, e.candidate.effect])).toEqual([
      ["deny", "deny"],
      ["allow", "allow"],
    ]);
    expect(shadows[0]!.candidate.reasons[0]!.code).toBe("R307");
  });

  it("a failing candidate store never changes the enforced decision", async () => {
    const events: GuardEvent[] = [];
    const failing: Store = { kind: "failing", transact: () => { throw new StoreError("R314", "down"); }, close: async () => {} };
    const guard = createGuard({ policy: enforced, shadow: { policy: candidate, store: failing }, onDecision: (e) => events.push(e) });
    expect((await guard.decide({ principal: human, action: "login.attempt", context: { ip: "a" } })).effect).toBe("allow");
    await settle();
    const shadow = events.find((e): e is Extract<GuardEvent, { kind: "shadow" }> => e.kind === "shadow")!;
    expect(shadow.candidate.effect).toBe("deny");
    expect(shadow.candidate.reasons[0]!.code).toBe("R314");
    expect(shadow.flipped).toBe(true);
  });

  it("the enforced decision does not wait for the candidate", async () => {
    const events: GuardEvent[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A candidate store that answers only when the test says so.
    const held: Store = { kind: "held", transact: (_keys, step) => gate.then(() => step([null]).result), close: async () => {} };
    const guard = createGuard({ policy: enforced, shadow: { policy: candidate, store: held }, onDecision: (e) => events.push(e) });
    expect((await guard.decide({ principal: human, action: "login.attempt", context: { ip: "a" } })).effect).toBe("allow");
    expect(events.map((e) => e.kind)).toEqual(["decision"]);
    release();
    await settle();
    expect(events.map((e) => e.kind)).toEqual(["decision", "shadow"]);
  });

  it("close closes the candidate's store", async () => {
    const store = memoryStore();
    const guard = createGuard({ policy: enforced, shadow: { policy: candidate, store } });
    await guard.close();
    expect(() => store.transact(["k"], () => ({ writes: [], result: 1 }), Infinity)).toThrow(/closed/);
  });
});
