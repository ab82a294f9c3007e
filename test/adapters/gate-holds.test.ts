import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow, createGuard, manualClock } from "../../src/index.js";
import { createToolGate, defineMapping, type SessionEnd } from "../../src/adapters/mcp/index.js";

/**
 * The tool gate ends a session whose held call turns to deny or revoke, and a recheck never counts
 * the held call against itself (docs/guides/mcp.md, "Signals from the runtime").
 */
const policy = compilePolicyOrThrow(`
actions {
  doc.read, doc.write
}
signals {
  note.added
}
rule agents: allow doc.* for agent *
  valid for 15m
rule chain: revoke doc.write when count(allowed doc.write by session within 1h) >= 3
  reason "three writes are enough"
rule notes: flag doc.read when after(signal note.added by session within 1m)
`);
const mapping = defineMapping({
  server: "docs",
  principal: { kind: "agent", id: "$client.name" },
  tools: {
    read: { action: "doc.read", resource: { path: "$args.path" } },
    write: { action: "doc.write", resource: { path: "$args.path" } },
  },
});
const scope = (session: string) => ({ session, client: { name: "bot" } });

function setup() {
  const clock = manualClock(0);
  const guard = createGuard({ policy, clock });
  const ends: SessionEnd[] = [];
  const gate = createToolGate({ guard, mapping, onSessionEnd: (e) => ends.push(e) });
  return { clock, guard, gate, ends };
}

describe("the tool gate's held sessions", () => {
  it("a recheck of the third allowed write does not count it against itself: the session stays open until the fourth", async () => {
    const { clock, guard, gate, ends } = setup();
    for (let i = 0; i < 3; i++) {
      expect((await gate.decide({ name: "write", arguments: { path: `${i}.md` } }, scope("s1"))).effect).toBe("allow");
      await clock.advance(1000);
    }
    // A signal on the session re-checks the held third write (cause "signal").
    await guard.observe({ signal: "note.added", session: "s1" });
    await clock.advance(10);
    expect(ends).toEqual([]);
    const fourth = await gate.decide({ name: "write", arguments: { path: "3.md" } }, scope("s1"));
    expect(fourth.effect).toBe("revoke");
    expect(ends).toMatchObject([{ session: "s1", cause: "revoke" }]);
    await guard.close();
  });

  it("a held call that turns to deny (its grant ran out) ends the session, with the reason, and revokes it", async () => {
    const { clock, guard, gate, ends } = setup();
    expect((await gate.decide({ name: "read", arguments: { path: "a.md" } }, scope("s2"))).effect).toBe("allow");
    await clock.advance(15 * 60_000 - 1);
    expect(ends).toEqual([]);
    await clock.advance(1);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ session: "s2", cause: "hold", time: expect.any(Number) });
    expect(ends[0]!.reason).toMatch(/no allow rule matched doc\.read/);
    expect(ends[0]!.decision?.effect).toBe("deny");
    expect(ends[0]!.decision?.reasons.map((r) => r.code)).toContain("R311");
    const later = await gate.decide({ name: "read", arguments: { path: "b.md" } }, scope("s2"));
    expect(later.allowed).toBe(false);
    const direct = await guard.decide({ principal: { kind: "agent", id: "bot" }, action: "doc.read", session: "s2" });
    expect(direct.reasons[0]).toMatchObject({ code: "R307" });
    await guard.close();
  });

  it("a held call the replaced policy denies leaves the session open; each later call is decided on its own", async () => {
    const { guard, gate, ends, clock } = setup();
    expect((await gate.decide({ name: "read", arguments: { path: "a.md" } }, scope("s3"))).effect).toBe("allow");
    await guard.setPolicy(compilePolicyOrThrow(`
actions {
  doc.read, doc.write
}
rule agents: allow doc.write for agent *
`));
    await clock.advance(10);
    expect(ends).toEqual([]);
    expect((await gate.decide({ name: "read", arguments: { path: "a.md" } }, scope("s3"))).effect).toBe("deny");
    expect((await gate.decide({ name: "write", arguments: { path: "a.md" } }, scope("s3"))).effect).toBe("allow");
    await guard.close();
  });
});
