import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow, createGuard, type Guard, type GuardEvent } from "../../src/index.js";
import { createToolGate, defineMapping, refusedCallResult, type SessionEnd, type Verdict } from "../../src/adapters/mcp/index.js";

const policy = compilePolicyOrThrow(`
actions {
  doc.read, doc.write, doc.publish
  doc.delete [high]
}
rule reads: allow doc.read
rule writes: allow doc.write, doc.publish
rule publish-approval: challenge doc.publish unless after(signal approval.granted by session within 1m until allowed doc.publish)
  require human-approval satisfied by approval.granted
rule write-step-up: challenge doc.write when context has big and context.big
rule drafts: flag doc.write on drafts/* label session += drafting
rule private: deny doc.read on private/*
rule chain: revoke doc.write when count(allowed doc.write by session within 1h) >= 2 reason "two writes are enough"
`);
const mapping = defineMapping({
  server: "docs",
  principal: { kind: "agent", id: "$client.name" },
  tools: {
    read: { action: "doc.read", resource: { path: "$args.path" } },
    read_many: { action: "doc.read", each: "$args.paths", resource: { path: "$item | path" } },
    write: { action: "doc.write", resource: { path: "$args.path" }, context: { big: "$args.big?" } },
    publish: { action: "doc.publish", resource: { path: "$args.path" } },
    remove: { action: "doc.delete", resource: { path: "$args.path" } },
  },
});
const scope = (session = "s1") => ({ session, client: { name: "bot" } });

function setup(options: { guard?: Guard } = {}) {
  const events: GuardEvent[] = [];
  const verdicts: Verdict[] = [];
  const ends: SessionEnd[] = [];
  const guard = options.guard ?? createGuard({ policy, onDecision: (e) => events.push(e) });
  const gate = createToolGate({ guard, mapping, onToolCall: (v) => verdicts.push(v), onSessionEnd: (e) => ends.push(e), challengeTimeoutMs: 50 });
  return { guard, gate, events, verdicts, ends };
}

describe("the tool gate", () => {
  it("allows what the policy allows, and says by which rules", async () => {
    const { gate, verdicts } = setup();
    const v = await gate.decide({ name: "read", arguments: { path: "a.md" } }, scope());
    expect(v).toMatchObject({ allowed: true, effect: "allow", tool: "read", action: "doc.read", session: "s1", message: "allowed by reads" });
    expect(v.request).toMatchObject({ principal: { kind: "agent", id: "bot" }, resource: { path: "a.md" } });
    expect(verdicts).toEqual([v]);
  });

  it("refuses a deny with its reasons, as a CallToolResult with the decision under _meta", async () => {
    const { gate } = setup();
    const v = await gate.decide({ name: "read", arguments: { path: "private/x" } }, scope());
    expect(v).toMatchObject({ allowed: false, effect: "deny" });
    const r = refusedCallResult(v);
    expect(r.isError).toBe(true);
    expect(r.content).toEqual([{ type: "text", text: v.message }]);
    expect(r._meta["leash/decision"]).toMatchObject({ effect: "deny", allowed: false, tool: "read", action: "doc.read", rules: ["private"], session: "s1" });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("a [high] action no rule names is denied", async () => {
    const { gate } = setup();
    expect(await gate.decide({ name: "remove", arguments: { path: "a" } }, scope())).toMatchObject({ allowed: false, effect: "deny" });
  });

  it("a challenge without a way to ask is refused with its obligation", async () => {
    const { gate } = setup();
    const v = await gate.decide({ name: "publish", arguments: { path: "a" } }, scope());
    expect(v).toMatchObject({ allowed: false, effect: "challenge", answer: "unsupported" });
    expect(v.decision.obligations).toEqual([{ kind: "challenge", rule: "publish-approval", challenge: "human-approval", satisfiedBy: ["approval.granted"] }]);
    expect(v.message).toBe("leash: publish (doc.publish) needs human-approval (satisfied by approval.granted): this client cannot be asked (it does not support elicitation)");
  });

  it("an accepted challenge reports the satisfying signal and decides again; the approval is used up", async () => {
    const { gate, events } = setup();
    const asked: string[] = [];
    const v = await gate.decide({ name: "publish", arguments: { path: "a" } }, scope(), async (c) => (asked.push(c.message), "accept"));
    expect(v).toMatchObject({ allowed: true, effect: "allow", answer: "accept" });
    expect(v.decisions.map((d) => d.effect)).toEqual(["challenge", "allow"]);
    expect(events.map((e) => e.kind)).toEqual(["decision", "signal", "decision"]);
    expect(events[1]).toMatchObject({ kind: "signal", signal: { signal: "approval.granted", session: "s1", principal: { kind: "agent", id: "bot" } } });
    expect(asked).toEqual(["leash: publish (doc.publish) needs human-approval (satisfied by approval.granted)"]);
    expect(await gate.decide({ name: "publish", arguments: { path: "a" } }, scope())).toMatchObject({ effect: "challenge" });
  });

  it("a declined, cancelled, failed, late or malformed answer leaves the call refused", async () => {
    const { gate } = setup();
    const call = { name: "publish", arguments: { path: "a" } };
    expect(await gate.decide(call, scope(), async () => "decline")).toMatchObject({ allowed: false, answer: "decline" });
    expect(await gate.decide(call, scope(), async () => "cancel")).toMatchObject({ allowed: false, answer: "cancel" });
    expect(await gate.decide(call, scope(), async () => { throw new Error("client went away"); })).toMatchObject({ allowed: false, answer: "failed" });
    expect(await gate.decide(call, scope(), () => new Promise(() => {}))).toMatchObject({ allowed: false, answer: "failed", message: expect.stringContaining("no answer came") });
    expect(await gate.decide(call, scope(), async () => "yes" as "accept")).toMatchObject({ allowed: false, answer: "failed" });
  });

  it("a challenge nothing can satisfy stays refused after an accept", async () => {
    const { gate } = setup();
    const v = await gate.decide({ name: "write", arguments: { path: "a", big: true } }, scope(), async () => "accept");
    expect(v).toMatchObject({ allowed: false, effect: "challenge", answer: "accept", message: expect.stringContaining("still challenged after the answer") });
  });

  it("a revoke ends the session once: every later call is denied, the Guard records it, the host is told", async () => {
    const { gate, guard, ends } = setup();
    expect((await gate.decide({ name: "write", arguments: { path: "a" } }, scope())).allowed).toBe(true);
    expect((await gate.decide({ name: "write", arguments: { path: "b" } }, scope())).allowed).toBe(true);
    const third = await gate.decide({ name: "write", arguments: { path: "c" } }, scope());
    expect(third).toMatchObject({ allowed: false, effect: "revoke", message: expect.stringContaining("two writes are enough; every later call is denied") });
    expect(ends).toEqual([expect.objectContaining({ session: "s1", cause: "revoke", reason: "two writes are enough" })]);
    expect(gate.ended("s1")).toBe(ends[0]);
    const later = await gate.decide({ name: "read", arguments: { path: "a" } }, scope());
    expect(later).toMatchObject({ allowed: false, effect: "deny", decision: { reasons: [expect.objectContaining({ code: "R307" })] } });
    expect((await guard.decide({ principal: { kind: "agent", id: "bot" }, action: "doc.read", session: "s1" })).reasons[0]!.code).toBe("R307");
    expect((await gate.decide({ name: "read", arguments: { path: "a" } }, scope("s2"))).allowed).toBe(true);
  });

  it("endSession is the one place a session ends, whatever the cause", async () => {
    const { gate, guard, ends } = setup();
    const end = await gate.endSession("s9", "the held decision turned to deny", "hold");
    expect(await gate.endSession("s9", "again", "api")).toBe(end);
    expect(ends).toEqual([end]);
    expect(await gate.decide({ name: "read", arguments: { path: "a" } }, scope("s9"))).toMatchObject({ allowed: false, message: expect.stringContaining("the held decision turned to deny") });
    expect((await guard.decide({ principal: { kind: "agent", id: "bot" }, action: "doc.read", session: "s9" })).reasons[0]).toMatchObject({ code: "R307", message: expect.stringContaining("the held decision turned to deny") });
  });

  it("an `each` call runs only when every element is allowed; flags of every decision reach the log", async () => {
    const { gate } = setup();
    const ok = await gate.decide({ name: "read_many", arguments: { paths: ["a", "b"] } }, scope());
    expect(ok.allowed).toBe(true);
    expect(ok.decisions).toHaveLength(2);
    const refused = await gate.decide({ name: "read_many", arguments: { paths: ["a", "private/../private/x", "c"] } }, scope());
    expect(refused).toMatchObject({ allowed: false, effect: "deny" });
    expect(refused.decisions).toHaveLength(2);
    const flagged = await gate.decide({ name: "write", arguments: { path: "drafts/x" } }, scope("s3"));
    expect(refusedCallResult({ ...flagged, allowed: false } as Verdict)._meta["leash/decision"].flags).toEqual(["drafts"]);
  });

  it("a guard that throws, or answers nonsense, gives a deny", async () => {
    const throwing = { ...createGuard({ policy }), decide: async () => { throw new Error("store down"); } } as Guard;
    const v1 = await setup({ guard: throwing }).gate.decide({ name: "read", arguments: { path: "a" } }, scope());
    expect(v1).toMatchObject({ allowed: false, effect: "deny", decision: { reasons: [expect.objectContaining({ code: "R314", message: "the guard failed: store down" })] } });
    const nonsense = { ...createGuard({ policy }), decide: async () => ({ effect: "maybe" }) } as unknown as Guard;
    expect(await setup({ guard: nonsense }).gate.decide({ name: "read", arguments: { path: "a" } }, scope())).toMatchObject({ allowed: false, effect: "deny" });
  });

  it("a hook that throws changes nothing", async () => {
    const gate = createToolGate({ guard: createGuard({ policy }), mapping, onToolCall: () => { throw new Error("log down"); } });
    expect((await gate.decide({ name: "read", arguments: { path: "a" } }, scope())).allowed).toBe(true);
  });

  it("shows in tools/list only the tools the principal could ever be allowed", () => {
    const { gate } = setup();
    const tools = ["read", "write", "publish", "remove", "unlisted"].map((name) => ({ name }));
    expect(gate.visibleTools(tools, scope()).map((t) => t.name)).toEqual(["read", "write", "publish"]);
    expect(gate.visibleTools(tools, { session: "s" })).toEqual([]);
  });
});
