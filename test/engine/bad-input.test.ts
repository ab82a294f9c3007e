import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agent, policyOf } from "./helpers.js";

const p = policyOf(`
  rule allow-read: allow doc.read for agent * when context.level >= 1 and resource.owner == principal.id
  rule deny-risky: deny doc.* when context.risk > 0.5
  rule count-reads: flag doc.read when count(doc.read by session within 1m) >= 2
`);
const ok = { principal: agent("a"), action: "doc.read", resource: { path: "d/1", owner: "a" }, context: { level: 2, risk: 0 }, session: "s", time: 0 };

function denyWith(request: unknown, code: string) {
  const before = JSON.stringify(Object.getOwnPropertyNames(Object.prototype));
  const r = p.decide(p.initialState(), request);
  expect(r.decision.effect).toBe("deny");
  const codes = [...r.decision.reasons.map((x) => x.code), ...r.decision.errors.map((e) => e.code)];
  expect(codes).toContain(code);
  expect(JSON.stringify(Object.getOwnPropertyNames(Object.prototype))).toBe(before);
  return r.decision;
}

describe("decide on malformed requests: a deny with a reason, never an exception", () => {
  it("allows the well-formed request (control)", () => {
    expect(p.decide(p.initialState(), ok).decision.effect).toBe("allow");
  });
  it("missing principal", () => {
    const d = denyWith({ ...ok, principal: undefined }, "R304");
    expect(d.reasons[0]!.message).toContain("no principal");
  });
  it("missing action", () => {
    const { action: _a, ...rest } = ok;
    expect(denyWith(rest, "R304").reasons[0]!.message).toContain("no action");
  });
  it("non-object context", () => {
    expect(denyWith({ ...ok, context: "risk=0" }, "R304").reasons[0]!.message).toContain("context must be an object");
    denyWith({ ...ok, context: [1, 2] }, "R304");
  });
  it("not an object at all", () => {
    for (const bad of [null, undefined, 42, "doc.read", [], () => 1]) denyWith(bad, "R304");
  });
  it("NaN and Infinity attribute values fail closed", () => {
    const d = denyWith({ ...ok, context: { level: NaN, risk: 0 } }, "R302");
    expect(d.errors[0]!.message).toContain("not a finite number");
    // deny-risky cannot read risk: it matches (fail closed) and names the error
    const d2 = denyWith({ ...ok, context: { level: 2, risk: Infinity } }, "R302");
    expect(d2.rules).toEqual(["deny-risky"]);
  });
  it("NaN and Infinity times", () => {
    denyWith({ ...ok, time: NaN }, "R304");
    denyWith({ ...ok, time: Infinity }, "R304");
    denyWith({ ...ok, time: "yesterday" }, "R304");
  });
  it("__proto__ and constructor keys are plain data, never the prototype", () => {
    const evil = JSON.parse('{"__proto__": {"level": 5, "polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
    const d = denyWith({ ...ok, context: evil, principal: JSON.parse('{"kind":"agent","id":"a","__proto__":{"admin":true}}') }, "R301");
    expect(d.effect).toBe("deny");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // inherited properties are never read: level exists only on the prototype chain here
    const inherited = Object.create({ level: 5 }) as Record<string, unknown>;
    inherited.risk = 0;
    denyWith({ ...ok, context: inherited }, "R301");
  });
  it("a polluted Object.prototype never supplies a request field", () => {
    const proto = Object.prototype as Record<string, unknown>;
    try {
      proto.principal = { kind: "agent", id: "a" };
      proto.kind = "agent";
      proto.time = 0;
      const { principal: _p, ...noPrincipal } = ok;
      expect(denyWith(noPrincipal, "R304").reasons[0]!.message).toContain("no principal");
      const { time: _t, ...noTime } = ok;
      denyWith(noTime, "R304");
      denyWith({ ...ok, principal: { id: "a" } }, "R304");
    } finally {
      delete proto.principal;
      delete proto.kind;
      delete proto.time;
    }
    expect(p.decide(p.initialState(), ok).decision.effect).toBe("allow");
  });
  it("a polluted Object.prototype never supplies a resource path, after many decisions warmed the fast path", () => {
    const simple = policyOf(`rule read-docs: allow doc.read for agent "a" on d/*`);
    const withPath = { principal: agent("a"), action: "doc.read", resource: { path: "d/1" }, time: 0 };
    const noPath = { principal: agent("a"), action: "doc.read", resource: { type: "doc" }, time: 0 };
    for (let i = 0; i < 20_000; i++) simple.decide(simple.initialState(), i % 2 ? withPath : noPath);
    expect(simple.decide(simple.initialState(), noPath).decision.effect).toBe("deny");
    const proto = Object.prototype as Record<string, unknown>;
    try {
      proto.path = "d/1";
      proto.id = "d/1";
      const d = simple.decide(simple.initialState(), noPath).decision;
      expect(d.effect).toBe("deny");
      expect(d.errors.map((e) => e.code)).toContain("R301");
    } finally {
      delete proto.path;
      delete proto.id;
    }
    expect(simple.decide(simple.initialState(), withPath).decision.effect).toBe("allow");
  });
  it("code-like strings are data", () => {
    const r = p.decide(p.initialState(), { ...ok, principal: agent("'); process.exit(1); //"), resource: { path: "d/1", owner: "${require('fs')}" } });
    expect(r.decision.effect).toBe("deny");
    expect(r.decision.reasons.map((x) => x.code)).toContain("R313");
  });
  it("a 1 MB context value is over the request limits: a deny with R302 before any rule runs", () => {
    const d = denyWith({ ...ok, resource: { path: "d/1", owner: "x".repeat(1 << 20) } }, "R302");
    expect(d.errors[0]!.message).toContain("request over a limit");
    expect(d.rules).toEqual([]);
  });
  it("a value longer than a condition reads fails closed with a reason when the limits let the request in", () => {
    const roomy = policyOf(`
  rule allow-read: allow doc.read for agent * when context.level >= 1 and resource.owner == principal.id
`, { limits: { maxStringLength: 1 << 21 } });
    const r = roomy.decide(roomy.initialState(), { ...ok, resource: { path: "d/1", owner: "x".repeat(1 << 20) } });
    expect(r.decision.effect).toBe("deny");
    expect(r.decision.errors[0]!.code).toBe("R302");
    expect(r.decision.errors[0]!.message).toContain("longer than");
  });
  it("100k fuzzed requests: no throw, always a decision, Object.prototype unchanged", () => {
    const before = Object.getOwnPropertyNames(Object.prototype).join();
    const key = fc.constantFrom("__proto__", "constructor", "prototype", "level", "risk", "owner", "id", "kind", "toString", "valueOf");
    const value = fc.oneof(fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(key, fc.string(), { maxKeys: 3 }));
    const obj = fc.dictionary(key, value, { maxKeys: 5 });
    const req = fc.record(
      { principal: fc.oneof(obj, fc.record({ kind: fc.constantFrom("agent", "human"), id: fc.string() })), action: fc.oneof(fc.constantFrom("doc.read", "doc.write", "", "..", "*"), fc.string()), resource: obj, context: obj, session: fc.oneof(fc.string(), fc.integer()), time: fc.oneof(fc.integer(), fc.double(), fc.string()) },
      { requiredKeys: [] },
    );
    let state = p.initialState();
    fc.assert(
      fc.property(req, (r) => {
        const out = p.decide(state, r);
        state = out.state;
        return ["allow", "deny", "challenge", "revoke"].includes(out.decision.effect);
      }),
      { numRuns: 100_000 },
    );
    expect(Object.getOwnPropertyNames(Object.prototype).join()).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("decide on malformed state", () => {
  it("denies with state_corrupt (R303) and never throws", () => {
    const s1 = p.decide(p.initialState(), ok).state;
    const corruptions: unknown[] = [
      null,
      42,
      { v: 2 },
      { ...s1, layout: "other" },
      { ...s1, keys: "x" },
      { ...s1, keys: [1, 2, 3] },
      // registers that are not a list, a register slot that is not a number, registers of the wrong length
      JSON.parse(JSON.stringify(s1).replace(/\[-?\d+(?:,-?[\de+]+)*\]/, '"oops"')),
      JSON.parse(JSON.stringify(s1).replace(/(\[-?\d+),-?[\de+]+/, '$1,"x"')),
      JSON.parse(JSON.stringify(s1).replace(/\[(-?\d+)(?:,-?[\de+]+)*\]/, "[$1]")),
      { ...s1, size: "many" },
    ];
    for (const bad of corruptions) {
      const r = p.decide(bad as never, ok);
      expect(r.decision.effect).toBe("deny");
      expect(r.decision.reasons[0]!.code).toBe("R303");
      expect(r.decision.reasons[0]!.message).toContain("state_corrupt");
      expect(r.state).toBe(bad);
    }
  });
  it("a state that went through JSON still works", () => {
    let s = p.initialState();
    s = p.decide(s, ok).state;
    s = JSON.parse(JSON.stringify(s));
    s = p.decide(s, { ...ok, time: 10 }).state;
    const d = p.decide(JSON.parse(JSON.stringify(s)), { ...ok, time: 20 }).decision;
    expect(d.flags).toEqual(["count-reads"]);
  });
});
