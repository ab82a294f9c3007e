import { describe, expect, it } from "vitest";
import { compilePolicy, type Policy, type PolicyState } from "../../src/index.js";
import { agent, policyOf } from "./helpers.js";
import { observe } from "../../src/runtime/operations.js";
import { partitions } from "../../src/runtime/inspect.js";

/** Runs `steps` ([time, action | "!signal", extra?]) and returns each effect (or "·" for signals) and flags. */
function run(p: Policy, steps: [number, string, Record<string, unknown>?][]) {
  let s: PolicyState = p.initialState();
  const out: string[] = [];
  for (const [time, name, extra] of steps) {
    if (name.startsWith("!")) {
      s = observe(p, s, { signal: name.slice(1), session: "s", principal: agent("a"), context: { ip: "1.1.1.1" }, time, ...extra }).state;
      out.push("·");
    } else {
      const r = p.decide(s, { principal: agent("a"), action: name, session: "s", context: { ip: "1.1.1.1" }, time, ...extra });
      s = r.state;
      out.push(r.decision.effect + (r.decision.flags.length ? `+${r.decision.flags.join("+")}` : ""));
    }
  }
  return out;
}

describe("count: exact sliding window over the chosen events", () => {
  const p = policyOf(`
    rule all: allow *
    rule c: deny x.go when count(x.tick by session within 10s) >= 2
    rule att: flag y.go when count(attempted x.go by session within 10s) >= 1
    rule sig: flag y.go when count(signal x.sig by session within 10s) >= 1
    rule den: flag z.go when count(denied x.go by session within 10s) >= 1
  `);
  it("counts allowed events in (now - 10s, now]", () => {
    expect(run(p, [[0, "x.tick"], [1000, "x.go"], [2000, "x.tick"], [3000, "x.go"], [10_000, "x.go"], [12_000, "x.go"]])).toEqual(["allow", "allow", "allow", "deny", "allow", "allow"]);
  });
  it("attempted counts denied requests too; denied counts only them; signal counts signals", () => {
    expect(run(p, [[0, "x.tick"], [1, "x.tick"], [2, "x.go"], [3, "y.go"], [4, "z.go"], [5, "!x.sig"], [6, "y.go"]])).toEqual([
      "allow", "allow", "deny", "allow+att", "allow+den", "·", "allow+att+sig",
    ]);
  });
});

describe("after / until, since, gap", () => {
  const p = policyOf(`
    rule all: allow *
    rule a: deny mail.send when after(secret.read by session within 1m until secret.forget)
    rule s: flag pay.out when since(pw.change by session) < 1h
    rule g: flag login.try when gap(attempted login.try by context.ip) < 300ms
  `);
  it("after holds within the window and is cancelled by until", () => {
    expect(run(p, [[0, "secret.read"], [1000, "mail.send"], [60_000, "mail.send"]])).toEqual(["allow", "deny", "allow"]);
    expect(run(p, [[0, "secret.read"], [1, "secret.forget"], [2, "mail.send"], [3, "secret.read"], [4, "mail.send"]])).toEqual(["allow", "allow", "allow", "allow", "deny"]);
  });
  it("since measures time since the latest event", () => {
    expect(run(p, [[0, "pay.out"], [1, "pw.change"], [3_600_000, "pay.out"], [3_600_001, "pay.out"]])).toEqual(["allow", "allow", "allow+s", "allow"]);
  });
  it("gap includes the current request", () => {
    expect(run(p, [[0, "login.try"], [200, "login.try"], [600, "login.try"], [799, "login.try"]])).toEqual(["allow", "allow+g", "allow", "allow+g"]);
  });
});

describe("distinct, rate, regularity", () => {
  const p = policyOf(`
    rule all: allow *
    rule d: deny * when distinct(action.domain by principal within 1m) > 2
    rule r: flag api.call when rate(api.call by principal, 3 per 3s)
    rule reg: flag beat.x when regularity(attempted beat.x by session over 3) < 0.05
  `);
  it("distinct counts different values in the window", () => {
    expect(run(p, [[0, "a.x"], [1, "a.y"], [2, "b.x"], [3, "c.x"], [4, "d.x"], [60_003, "d.x"]])).toEqual(["allow", "allow", "allow", "allow", "deny", "allow"]);
  });
  it("rate is GCRA: a burst of N, then one per D/N", () => {
    expect(run(p, [[0, "api.call"], [0, "api.call"], [0, "api.call"], [0, "api.call"], [999, "api.call"], [1000, "api.call"], [1001, "api.call"]])).toEqual([
      "allow", "allow", "allow", "allow+r", "allow+r", "allow", "allow+r",
    ]);
  });
  it("regularity flags a steady rhythm, not an irregular one", () => {
    expect(run(p, [[0, "beat.x"], [100, "beat.x"], [200, "beat.x"], [300, "beat.x"], [400, "beat.x"]])).toEqual(["allow", "allow", "allow", "allow+reg", "allow+reg"]);
    expect(run(p, [[0, "beat.x"], [130, "beat.x"], [170, "beat.x"], [420, "beat.x"]])).toEqual(["allow", "allow", "allow", "allow"]);
  });
});

describe("sequence and workflows", () => {
  const p = policyOf(`
    rule all: allow *
    rule seq: flag pay.submit when sequence(acct.create, cart.add, addr.set by session within 10s until acct.verify)
    workflow w by session: a.one -> a.two* -> a.three on deviation deny
  `);
  it("matches ordered stages within the window, not out of order, and resets on until", () => {
    expect(run(p, [[0, "acct.create"], [1, "cart.add"], [2, "addr.set"], [3, "pay.submit"]])).toEqual(["allow", "allow", "allow", "allow+seq"]);
    expect(run(p, [[0, "cart.add"], [1, "acct.create"], [2, "addr.set"], [3, "pay.submit"]])).toEqual(["allow", "allow", "allow", "allow"]);
    expect(run(p, [[0, "acct.create"], [1, "cart.add"], [2, "acct.verify"], [3, "addr.set"], [4, "pay.submit"]])).toEqual(["allow", "allow", "allow", "allow", "allow"]);
    expect(run(p, [[0, "acct.create"], [1, "cart.add"], [2, "addr.set"], [10_000, "pay.submit"]])).toEqual(["allow", "allow", "allow", "allow"]);
  });
  it("the newest start wins, so a late restart still completes in the window", () => {
    expect(run(p, [[0, "acct.create"], [9000, "acct.create"], [9500, "cart.add"], [9600, "addr.set"], [15_000, "pay.submit"]])).toEqual(["allow", "allow", "allow", "allow", "allow+seq"]);
  });
  it("a workflow denies deviations and accepts its language", () => {
    expect(run(p, [[0, "a.one"], [1, "a.two"], [2, "a.two"], [3, "a.three"], [4, "a.one"], [5, "a.three"]])).toEqual(["allow", "allow", "allow", "allow", "allow", "allow"]);
    expect(run(p, [[0, "a.two"], [1, "a.one"], [2, "a.one"]])).toEqual(["deny", "allow", "deny"]);
  });
});

describe("keys, time and bounds", () => {
  const p = policyOf(`
    rule all: allow *
    rule c: deny x.go when count(x.go by context.ip within 1m) >= 1
  `);
  it("a missing key attribute fails closed with R305", () => {
    const r = p.decide(p.initialState(), { principal: agent("a"), action: "x.go", time: 0 });
    expect(r.decision.effect).toBe("deny");
    expect(r.decision.errors[0]).toMatchObject({ rule: "c", code: "R305" });
  });
  it("time going backwards for a key is clamped and reported (R306)", () => {
    let s = p.decide(p.initialState(), { principal: agent("a"), action: "y.go", context: { ip: "i" }, time: 0 }).state;
    s = p.decide(s, { principal: agent("a"), action: "x.go", context: { ip: "i" }, time: 100_000 }).state;
    const back = p.decide(s, { principal: agent("a"), action: "x.go", context: { ip: "i" }, time: 50_000 }).decision;
    // clamped to 100000: the x.go at 100000 is in the window
    expect(back.effect).toBe("deny");
    expect(back.warnings[0]).toMatchObject({ code: "R306" });
  });
  it("rejects unbounded state at compile time (C206) with help", () => {
    const r1 = compilePolicy(`rule c: deny x.go when count(x.go by session) >= 3`);
    expect(r1.diagnostics[0]).toMatchObject({ code: "C206" });
    expect(r1.diagnostics[0]!.help).toContain("within");
    const r2 = compilePolicy(`rule c: deny x.go when count(x.go by session within 1h) >= 100000`);
    expect(r2.diagnostics[0]).toMatchObject({ code: "C206" });
    expect(r2.diagnostics[0]!.help).toContain("rate");
    const r3 = compilePolicy(`rule c: deny x.go when count(x.go by session within 1h)`);
    expect(r3.diagnostics.map((d) => d.code)).toContain("C207");
  });
  it("the key cap bounds the state and counts evictions", () => {
    const q = policyOf(`rule all: allow *\nrule c: flag x.go when count(x.go by context.ip within 1h) >= 5`, { maxKeys: 100 });
    let s = q.initialState();
    for (let i = 0; i < 5000; i++) s = q.decide(s, { principal: agent("a"), action: "x.go", context: { ip: `10.0.${i >> 8}.${i & 255}` }, time: i }).state;
    expect(s.size).toBeLessThanOrEqual(100);
    expect(s.evictions).toBe(5000 - s.size);
  });
});

describe("state keys", () => {
  const p = policyOf(`
    rule all: allow *
    rule by-principal: deny x.go when count(y.go by principal within 1m) >= 1
    rule by-session: flag x.go when count(y.go by session within 1m) >= 2
  `);
  it("a principal's history is its own even when another kind has the same id", () => {
    let s = p.decide(p.initialState(), { principal: { kind: "service", id: "x" }, action: "y.go", time: 0 }).state;
    expect(p.decide(s, { principal: { kind: "agent", id: "x" }, action: "x.go", time: 1 }).decision.effect).toBe("allow");
    expect(p.decide(s, { principal: { kind: "service", id: "x" }, action: "x.go", time: 1 }).decision.effect).toBe("deny");
    s = p.decide(s, { principal: { kind: "agent", id: "x" }, action: "y.go", time: 2 }).state;
    expect(partitions(p, s).map((k) => k.key).sort()).toEqual(["principal:agent/x", "principal:service/x"]);
  });
  it("keys stay right past the key-string cache's size and for long ids", () => {
    let s = p.initialState();
    const sessions = Array.from({ length: 5000 }, (_, i) => (i % 100 === 0 ? `long-${"s".repeat(300)}-${i}` : `s-${i}`));
    for (const [i, session] of sessions.entries()) s = p.decide(s, { principal: agent(`a${i}`), action: "y.go", session, time: i }).state;
    // A second y.go in one session makes the flag rule match; other sessions are untouched.
    for (const session of [sessions[0]!, sessions[4321]!]) {
      s = p.decide(s, { principal: agent("z"), action: "y.go", session, time: 6000 }).state;
      expect(p.decide(s, { principal: agent("z"), action: "x.go", session, time: 6001 }).decision.flags).toEqual(["by-session"]);
    }
    expect(p.decide(s, { principal: agent("z"), action: "x.go", session: sessions[7]!, time: 6001 }).decision.flags).toEqual([]);
    const keys = new Set(partitions(p, s).map((k) => k.key));
    expect(keys.size).toBe(5000 + 5000 + 1);
    expect(keys.has(`session:${sessions[100]}`)).toBe(true);
  });
});
