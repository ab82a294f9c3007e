import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/compile/compile.js";
import { checkTraceEvent, readTrace, replayTrace } from "../../src/runtime/trace.js";

const policy = compilePolicy("rule readers: allow doc.read for agent *\n").policy!;
const read = (extra: Record<string, unknown> = {}) => ({ principal: { kind: "agent", id: "a" }, action: "doc.read", time: 0, ...extra });

describe("checkTraceEvent", () => {
  it("accepts every documented expectation", () => {
    expect(checkTraceEvent(read({ expect: "allow" }))).toEqual([]);
    expect(checkTraceEvent(read({ expect: { effect: "deny", rules: [], flags: ["f"], validUntil: null, nextDeadline: 5, watch: ["session:s"] } }))).toEqual([]);
    expect(checkTraceEvent({ signal: "s.t", time: 0, expect: { flags: [], revoked: ["session:s"] } })).toEqual([]);
    expect(checkTraceEvent({ revoke: { session: "s" }, reason: "why", time: 3, expect: { revoked: ["session:s"] } })).toEqual([]);
    expect(checkTraceEvent({ reinstate: { session: "s" } })).toEqual([]);
  });

  it("says what is wrong with a line that is not an event", () => {
    expect(checkTraceEvent({ time: 0 })).toEqual(["a trace line has `action`, `signal`, `revoke` or `reinstate`"]);
    expect(checkTraceEvent({ action: 5 })).toEqual(["`action` must be a string, got 5"]);
    expect(checkTraceEvent({ revoke: "s1" })).toEqual(['`revoke` must be a key object such as {"session":"s1"}, got a string']);
    expect(checkTraceEvent({ revoke: { session: "s" }, time: "now" })).toEqual(["`time` must be milliseconds since the epoch (finite, at most 8.64e15 in size) or an ISO 8601 string, got a string"]);
    // The same validation as every entry point: JSON's 1e400 is Infinity, and 1e16 is out of range.
    expect(checkTraceEvent({ revoke: { session: "s" }, time: Infinity })).toEqual(["`time` must be milliseconds since the epoch (finite, at most 8.64e15 in size) or an ISO 8601 string, got Infinity"]);
    expect(checkTraceEvent({ revoke: { session: "s" }, time: 1e16 })).toHaveLength(1);
    expect(checkTraceEvent({ revoke: { session: "s" }, time: "2026-12-01T00:00:00Z" })).toEqual([]);
  });

  it("reads own properties only: an inherited action does not make a request", () => {
    const inherited = Object.create({ action: "doc.read" }) as Record<string, unknown>;
    expect(checkTraceEvent(inherited)).toEqual(["a trace line has `action`, `signal`, `revoke` or `reinstate`"]);
  });

  it("never throws, whatever the line is: Proxies, throwing getters, non-objects", () => {
    const trap = new Proxy({}, { ownKeys: () => { throw new Error("boom"); }, get: () => { throw new Error("boom"); }, getOwnPropertyDescriptor: () => { throw new Error("boom"); } });
    const getter = Object.defineProperty({ action: "doc.read" }, "expect", { enumerable: true, get: () => { throw new Error("no"); } });
    expect(checkTraceEvent(trap as Record<string, unknown>)).toEqual(["the line cannot be read: boom"]);
    expect(checkTraceEvent(getter)).toEqual(["the line cannot be read: no"]);
    expect(checkTraceEvent(null as unknown as Record<string, unknown>)).toEqual(["a trace line is a JSON object"]);
  });
});

describe("replayTrace", () => {
  it("never throws; an unusable line is an invalid step that changes no state", () => {
    const trap = new Proxy({}, { get: () => { throw new Error("boom"); }, has: () => { throw new Error("boom"); } });
    const events = [read({ session: "s" }), { revoke: { session: "s" }, reason: { toString: 1 } }, trap, 42, read({ session: "s", time: 1 })] as unknown as Record<string, unknown>[];
    const { steps } = replayTrace(policy, events);
    expect(steps.map((s) => s.kind)).toEqual(["request", "invalid", "invalid", "invalid", "request"]);
    expect(steps[1]!.mismatches).toEqual(["`reason` must be a string, got an object"]);
    expect(steps[3]!.mismatches).toEqual(["a trace line is a JSON object"]);
    // The bad revoke was not applied: the session is not revoked.
    expect(steps[4]!.decision!.effect).toBe("allow");
  });

  it("applies a line whose expect is malformed, and reports the expect in its mismatches", () => {
    const { steps } = replayTrace(policy, [read({ expect: { rules: 5 } }), read({ expect: "alow" })]);
    expect(steps.map((s) => [s.kind, s.decision?.effect, s.expect])).toEqual([["request", "allow", undefined], ["request", "allow", undefined]]);
    expect(steps[0]!.mismatches).toEqual(["`expect.rules` must be a list of rule names (strings), got 5"]);
    expect(steps[1]!.mismatches).toEqual(['`expect`: "alow" is not an effect (a typo?); did you mean "allow"?']);
  });
});

describe("readTrace", () => {
  it("gives each event's line and every problem as FILE:LINE, in line order", () => {
    const text = ['// comment', '', JSON.stringify(read({ expect: "deny" })), "{not json", JSON.stringify({ signal: "s", time: 0, expect: "allow" }), "[1]"].join("\n");
    const { events, lines, problems } = readTrace(text, "t.jsonl");
    expect(events).toHaveLength(2);
    expect(lines).toEqual([3, 5]);
    expect(problems).toEqual([
      expect.stringMatching(/^t\.jsonl:4: invalid JSON: /),
      "t.jsonl:5: `expect` is an effect, but a signal line has no effect; expect {flags, revoked}",
      "t.jsonl:6: a trace line is a JSON object",
    ]);
  });
});
