import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, manualClock, type HoldChange } from "../../src/guard/index.js";
import { memoryStore } from "../../src/stores/memory.js";
import type { Store } from "../../src/stores/store.js";
import { asyncMemoryStore } from "./stores.js";

const GRANTS = `actions {
  ticket.read, ticket.draft, kb.search
  admin.users [high]
}

rule agent-grants: allow ticket.* for agent *
  valid for 15m

rule idp-revoked: revoke signal session.revoked
  reason "the identity provider revoked the session"

rule risky: deny * when after(signal risk.raised by session within 1h)
  reason "the session's risk was raised"

rule noted: flag * when after(signal noise.seen by session within 1h)
`;

const agent = { kind: "agent", id: "triage-bot" };
const request = { principal: agent, action: "ticket.read", session: "a1" };
const MINUTE = 60_000;

function setup(source = GRANTS, start = 0) {
  const clock = manualClock(start);
  const guard = createGuard({ policy: compilePolicyOrThrow(source), clock });
  const changes: HoldChange[] = [];
  return { clock, guard, changes, onChange: (c: HoldChange) => void changes.push(c) };
}

describe("guard.hold: deadlines on a driven clock", () => {
  it("fires onChange at 15 m exactly for a grant valid for 15m", async () => {
    const { clock, guard, changes, onChange } = setup();
    const decision = await guard.decide(request);
    expect(decision.effect).toBe("allow");
    expect(decision.validUntil).toBe(15 * MINUTE);
    const hold = guard.hold(decision, request, { onChange });
    expect(clock.pending).toBe(1);
    await clock.advance(15 * MINUTE - 1);
    expect(changes).toEqual([]);
    await clock.advance(1);
    expect(changes).toHaveLength(1);
    const c = changes[0]!;
    expect(c.time).toBe(15 * MINUTE);
    expect(c.cause).toBe("deadline");
    expect(c.previous).toBe(decision);
    expect(c.decision.effect).toBe("deny");
    expect(c.decision.time).toBe(15 * MINUTE);
    expect(c.reason).toBe("allow became deny: agent-grants: the grant of 900000 ms for this session has expired; no allow rule matched ticket.read");
    expect(c.revoked).toBe(false);
    expect(hold.decision).toBe(c.decision);
    hold.release();
    expect(clock.pending).toBe(0);
  });

  it("keeps one timer for 10,000 holds, and fires each at its own deadline", async () => {
    const { clock, guard, changes, onChange } = setup();
    const holds = [];
    for (let i = 0; i < 10_000; i++) {
      // Sessions start a minute apart in ten groups: ten distinct deadlines.
      if (i % 1000 === 0 && i > 0) await clock.advance(MINUTE);
      const r = { ...request, session: `s${i}` };
      holds.push(guard.hold(await guard.decide(r), r, { onChange }));
      expect(clock.pending).toBe(1);
    }
    await clock.set(15 * MINUTE);
    expect(changes).toHaveLength(1000);
    expect(new Set(changes.map((c) => c.time))).toEqual(new Set([15 * MINUTE]));
    expect(clock.pending).toBe(1);
    await clock.set(24 * MINUTE);
    expect(changes).toHaveLength(10_000);
    expect(changes.every((c) => c.decision.effect === "deny" && c.cause === "deadline")).toBe(true);
    for (const h of holds) h.release();
    expect(clock.pending).toBe(0);
  });

  it("costs bounded heap per hold, before and after rechecks (10,000 holds, measured in a process of its own)", () => {
    const script = fileURLToPath(new URL("../helpers/hold-heap.ts", import.meta.url));
    const out = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script, "10000"], { encoding: "utf8", timeout: 120_000 });
    expect(out.status, out.stderr).toBe(0);
    const r = JSON.parse(out.stdout.trim().split("\n").pop()!) as { holds: number; timers: number; bytesPerHold: number; bytesPerHoldAfterRechecks: number; changes: number };
    console.log(`holds: ${r.holds}, clock timers: ${r.timers}, heap per hold: ${r.bytesPerHold} bytes, after 5 rechecks each: ${r.bytesPerHoldAfterRechecks} bytes`);
    expect(r.holds).toBe(10_000);
    expect(r.timers).toBe(1);
    expect(r.changes).toBe(10_000);
    // A hold keeps its request, two decisions and its keys: a few kilobytes at most, not growing.
    expect(r.bytesPerHold).toBeLessThan(4096);
    expect(r.bytesPerHoldAfterRechecks).toBeLessThan(r.bytesPerHold * 1.5 + 512);
  });
});

describe("guard.hold: revocations, signals, reloads", () => {
  it("turns on a revocation of its session and back on reinstatement", async () => {
    const { guard, changes, onChange } = setup();
    const decision = await guard.decide(request);
    guard.hold(decision, request, { onChange });
    await guard.revoke({ session: "a1" }, "operator ended the session");
    await until(() => changes.length === 1);
    expect(changes[0]).toMatchObject({ cause: "revocation", revoked: true, reason: "allow became deny: session:a1 was revoked: operator ended the session" });
    expect(changes[0]!.decision.reasons[0]!.code).toBe("R307");
    await guard.reinstate({ session: "a1" });
    await until(() => changes.length === 2);
    expect(changes[1]).toMatchObject({ cause: "revocation", revoked: false });
    expect(changes[1]!.decision.effect).toBe("allow");
  });

  it("re-checks at once a decision a revocation overtook before it was held", async () => {
    const { guard, changes, onChange } = setup();
    const decision = await guard.decide(request);
    await guard.revoke({ session: "a1" }, "between the decision and the hold");
    guard.hold(decision, request, { onChange });
    await until(() => changes.length === 1);
    expect(changes[0]).toMatchObject({ cause: "hold", revoked: true });
  });

  it("turns on a revoke signal and on a signal a deny rule reads; other sessions' holds stay", async () => {
    const { guard, changes, onChange } = setup();
    const other = { ...request, session: "a2" };
    guard.hold(await guard.decide(request), request, { onChange });
    const quiet: HoldChange[] = [];
    guard.hold(await guard.decide(other), other, { onChange: (c) => void quiet.push(c) });
    await guard.observe({ signal: "risk.raised", session: "a1" });
    await until(() => changes.length === 1);
    expect(changes[0]).toMatchObject({ cause: "signal", revoked: false });
    expect(changes[0]!.reason).toContain("the session's risk was raised");
    const third = { ...request, session: "a3" };
    const seen: HoldChange[] = [];
    guard.hold(await guard.decide(third), third, { onChange: (c) => void seen.push(c) });
    await guard.observe({ signal: "session.revoked", session: "a3" });
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ cause: "revocation", revoked: true });
    expect(seen[0]!.reason).toContain("the identity provider revoked the session");
    expect(quiet).toEqual([]);
  });

  it("turns when a revoke decision ends a principal another hold reads", async () => {
    const source = `${GRANTS}\nrule admin-probe: revoke admin.* target principal\n  reason "an agent asked for admin"\n`;
    const { guard, changes, onChange } = setup(source);
    guard.hold(await guard.decide(request), request, { onChange });
    const d = await guard.decide({ principal: agent, action: "admin.users", session: "other" });
    expect(d.effect).toBe("revoke");
    await until(() => changes.length === 1);
    expect(changes[0]).toMatchObject({ cause: "revocation", revoked: true });
    expect(changes[0]!.reason).toContain("principal:agent/triage-bot");
  });

  it("is re-checked under the new policy on setPolicy", async () => {
    const { guard, changes, onChange } = setup();
    guard.hold(await guard.decide(request), request, { onChange });
    await guard.setPolicy(compilePolicyOrThrow("rule drafts-only: allow ticket.draft for agent *"));
    await until(() => changes.length === 1);
    expect(changes[0]).toMatchObject({ cause: "policy", revoked: false });
    expect(changes[0]!.decision.effect).toBe("deny");
    expect(changes[0]!.decision.policyHash).toBe(guard.policy.hash);
    await guard.setPolicy(compilePolicyOrThrow(GRANTS));
    await until(() => changes.length === 2);
    expect(changes[1]!.decision.effect).toBe("allow");
  });

  it("keeps a hold that stands through a reload without telling anyone, and still ends it at its deadline", async () => {
    const { clock, guard, changes, onChange } = setup();
    guard.hold(await guard.decide(request), request, { onChange });
    await guard.setPolicy(compilePolicyOrThrow(`${GRANTS}\nrule extra: allow kb.search for agent *\n`));
    await clock.advance(1);
    expect(changes).toEqual([]);
    await clock.set(15 * MINUTE);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ cause: "deadline", time: 15 * MINUTE });
  });

  it("calls nothing after release, and a closed Guard ends its holds", async () => {
    const { clock, guard, changes, onChange } = setup();
    const hold = guard.hold(await guard.decide(request), request, { onChange });
    hold.release();
    expect(hold.released).toBe(true);
    await guard.revoke({ session: "a1" }, "x");
    await clock.set(20 * MINUTE);
    expect(changes).toEqual([]);
    const r2 = { ...request, session: "b1" };
    const h2 = guard.hold(await guard.decide(r2), r2, { onChange });
    await guard.close();
    expect(h2.released).toBe(true);
    expect(clock.pending).toBe(0);
    const late = guard.hold(h2.decision, r2, { onChange });
    await until(() => changes.length === 1);
    expect(changes[0]!.decision.reasons[0]!.code).toBe("R314");
    expect(late.released).toBe(true);
  });

  it("answers a decision it cannot recheck with a deny at once (R317), and rejects a hold without onChange", async () => {
    const { guard, changes, onChange } = setup();
    guard.hold({ effect: "allow", policyHash: guard.policy.hash } as never, request, { onChange });
    await until(() => changes.length === 1);
    expect(changes[0]!.decision.effect).toBe("deny");
    expect(changes[0]!.decision.reasons[0]!.code).toBe("R317");
    expect(() => guard.hold(changes[0]!.decision, request, {} as never)).toThrow(TypeError);
  });

  it("re-checks once more, not once per change, when changes arrive during a recheck", async () => {
    const inner = memoryStore();
    let transactions = 0;
    const store: Store = { kind: "memory", transact: (keys, step, deadline) => (transactions++, inner.transact(keys, step, deadline)), close: () => inner.close() };
    const guard = createGuard({ policy: compilePolicyOrThrow(GRANTS), store, clock: manualClock(0) });
    const changes: HoldChange[] = [];
    guard.hold(await guard.decide(request), request, { onChange: (c) => void changes.push(c) });
    const before = transactions;
    // Fifty signals on the held session in one turn: the first starts a recheck, the other 49 find it running.
    const seen = Array.from({ length: 50 }, () => guard.observe({ signal: "noise.seen", session: "a1" }));
    await Promise.all(seen);
    await new Promise((r) => setTimeout(r, 10));
    expect(transactions - before).toBe(50 + 2);
    expect(changes).toEqual([]);
  });

  it("reports a store failure as unavailable, retries, and reports the store's answer when it is back", async () => {
    const store = asyncMemoryStore();
    const clock = manualClock(0);
    const guard = createGuard({ policy: compilePolicyOrThrow(GRANTS), store, clock });
    const changes: HoldChange[] = [];
    guard.hold(await guard.decide(request), request, { onChange: (c) => void changes.push(c) });
    store.control.fail = "connection refused";
    await guard.observe({ signal: "noise.seen", session: "a1" }); // fails: nothing is rechecked
    await guard.setPolicy(guard.policy); // a reload rechecks every hold
    await until(() => changes.length === 1);
    expect(changes[0]).toMatchObject({ unavailable: true, revoked: false });
    expect(changes[0]!.decision.reasons[0]!.code).toBe("R314");
    store.control.fail = null;
    await guard.revoke({ session: "a1" }, "while it was down");
    await until(() => changes.length === 2);
    expect(changes[1]).toMatchObject({ revoked: true, unavailable: false });
  });
});

async function until(ok: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 1));
  }
}
