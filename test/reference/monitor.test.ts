import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/syntax/index.js";
import { ReferenceMonitor } from "./monitor.js";

/**
 * The reference interpreter against the sentences of docs/semantics.md, by hand: if it is wrong,
 * the differential tests check the engine against the wrong thing.
 */

const bot = { kind: "agent", id: "bot-1" };

function monitor(source: string): ReferenceMonitor {
  const { ast, diagnostics } = parsePolicy(source);
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return new ReferenceMonitor(ast);
}

/** Decides `action` at `time` (ms) for `bot-1` in session s1, with optional extra fields. */
function at(m: ReferenceMonitor, time: number, action: string, extra: Record<string, unknown> = {}) {
  return m.decide({ principal: bot, action, session: "s1", time, ...extra });
}

const effect = (m: ReferenceMonitor, time: number, action: string, extra: Record<string, unknown> = {}) => at(m, time, action, extra).effect;

describe("effects and combining", () => {
  it("orders revoke > deny > challenge > allow, and no matching allow means deny", () => {
    expect(at(monitor("rule a: allow x.y\nrule c: challenge x.y"), 0, "x.y")).toMatchObject({ effect: "challenge", rules: ["c"] });
    expect(at(monitor("rule c: challenge x.y"), 0, "x.y")).toMatchObject({ effect: "deny", rules: [] });
    expect(at(monitor("rule a: allow x.y\nrule d: deny x.*\nrule c: challenge x.y"), 0, "x.y")).toMatchObject({ effect: "deny", rules: ["d"] });
    expect(at(monitor("rule r: revoke *\nrule d: deny x.y"), 0, "x.y")).toMatchObject({ effect: "revoke", rules: ["r"] });
    expect(at(monitor(""), 0, "x.y")).toMatchObject({ effect: "deny", rules: [], flags: [] });
  });

  it("matches one or more trailing segments with `x.*` and exactly one inner segment with `a.*.c`", () => {
    const m = monitor("rule t: allow ticket.*\nrule m: allow a.*.c");
    expect(effect(m, 0, "ticket.read")).toBe("allow");
    expect(effect(m, 0, "ticket.read.all")).toBe("allow");
    expect(effect(m, 0, "ticket")).toBe("deny");
    expect(effect(m, 0, "a.b.c")).toBe("allow");
    expect(effect(m, 0, "a.b.b.c")).toBe("deny");
  });

  it("allows a [high] action only through a rule that names it", () => {
    const m = monitor("actions {\n  a.read\n  a.push [high]\n}\nrule w: allow a.*");
    expect(effect(m, 0, "a.read")).toBe("allow");
    expect(effect(m, 0, "a.push")).toBe("deny");
    expect(effect(monitor("actions {\n  a.read\n  a.push [high]\n}\nrule w: allow a.*, a.push"), 0, "a.push")).toBe("allow");
  });

  it("reports flag rules without changing the effect", () => {
    expect(at(monitor("rule a: allow x.y\nrule f: flag x.*"), 0, "x.y")).toMatchObject({ effect: "allow", flags: ["f"] });
  });

  it("matches principals by kind, id and id glob, and resources by path then id", () => {
    const m = monitor('rule a: allow x.y for agent "bot-*" on repo/*');
    expect(effect(m, 0, "x.y", { resource: { path: "repo/app" } })).toBe("allow");
    expect(effect(m, 0, "x.y", { resource: { id: "repo/app" } })).toBe("allow");
    expect(effect(m, 0, "x.y", { resource: { path: "secret/app" } })).toBe("deny");
    expect(effect(m, 0, "x.y", { principal: { kind: "human", id: "bot-1" }, resource: { path: "repo/a" } })).toBe("deny");
  });
});

describe("fail closed", () => {
  it("counts an unevaluable deny rule as matching and an unevaluable allow rule as not", () => {
    const m = monitor("rule a: allow x.y when context.risk < 0.5\nrule d: deny x.y when context.tier == \"gold\"");
    expect(at(m, 0, "x.y", { context: { risk: 0.1, tier: "free" } })).toMatchObject({ effect: "allow" });
    expect(at(m, 0, "x.y", { context: { risk: 0.1 } })).toMatchObject({ effect: "deny", rules: ["d"], errors: [{ rule: "d", code: "R301" }] });
    expect(at(m, 0, "x.y", { context: { risk: "low", tier: "free" } })).toMatchObject({ effect: "deny", rules: [] });
  });

  it("uses three-valued logic: false and ERROR is false, true or ERROR is true, not ERROR is an error", () => {
    const deny = (cond: string, context: object) => at(monitor(`rule a: allow x.y\nrule d: deny x.y when ${cond}`), 0, "x.y", { context }).effect;
    expect(deny("context.missing > 1 and context.n > 5", { n: 1 })).toBe("allow");
    expect(deny("context.n > 5 and context.missing > 1", { n: 1 })).toBe("allow");
    expect(deny("context.missing > 1 or context.n > 5", { n: 1 })).toBe("deny");
    expect(deny("context.n < 5 or context.missing > 1", { n: 1 })).toBe("deny");
    expect(deny("not (context.missing > 1)", { n: 1 })).toBe("deny");
  });

  it("fails closed when a history's key attribute is missing (R305)", () => {
    const m = monitor("rule a: allow x.y\nrule d: deny x.y when count(x.y by context.ip within 1m) > 100");
    expect(at(m, 0, "x.y", { context: {} })).toMatchObject({ effect: "deny", errors: [{ rule: "d", code: "R305" }] });
    expect(effect(m, 0, "x.y", { context: { ip: "10.0.0.1" } })).toBe("allow");
  });
});

describe("histories", () => {
  it("uses half-open windows: exactly D ago is out", () => {
    const m = monitor("rule a: allow *\nrule d: deny b.b when after(a.a by session within 1s)");
    at(m, 0, "a.a");
    expect(effect(m, 999, "b.b")).toBe("deny");
    expect(effect(m, 1000, "b.b")).toBe("allow");
  });

  it("records the request after its decision, with its final effect, for the filters", () => {
    const m = monitor("rule a: allow a.a when context.ok\nrule f1: flag b.b when count(a.a by session within 1m) >= 1\nrule f2: flag b.b when count(denied a.a by session within 1m) >= 1\nrule f3: flag b.b when count(attempted a.a by session within 1m) >= 2");
    at(m, 0, "a.a", { context: { ok: false } });
    expect(at(m, 1, "b.b").flags).toEqual(["f2"]);
    at(m, 2, "a.a", { context: { ok: true } });
    expect(at(m, 3, "b.b").flags).toEqual(["f1", "f2", "f3"]);
  });

  it("counts signals as happened and sees them with the signal filter", () => {
    const m = monitor("rule a: allow *\nrule d: deny b.b when after(signal s.ok by session within 1m)");
    expect(effect(m, 0, "b.b")).toBe("allow");
    m.observe({ signal: "s.ok", session: "s1", time: 1 });
    expect(effect(m, 2, "b.b")).toBe("deny");
    expect(effect(m, 2, "b.b", { session: "s2" })).toBe("allow");
  });

  it("ends after(X until Z) at a Z, and an event that is both X and Z counts as X", () => {
    const m = monitor("rule a: allow *\nrule d: deny b.b when after(a.* by session until a.stop)");
    at(m, 0, "a.go");
    expect(effect(m, 1, "b.b")).toBe("deny");
    at(m, 2, "a.stop");
    expect(effect(m, 3, "b.b")).toBe("deny");
    const n = monitor("rule a: allow *\nrule d: deny b.b when after(a.go by session until a.*)");
    at(n, 0, "a.go");
    at(n, 1, "a.stop");
    expect(effect(n, 2, "b.b")).toBe("allow");
  });

  it("measures since and gap, gap including the current request when it is an X", () => {
    const m = monitor("rule a: allow *\nrule s: flag b.b when since(a.a by session) < 100ms\nrule g: flag a.a when gap(attempted a.a by session) < 100ms\nrule h: flag b.b when gap(a.a by session) < 100ms");
    expect(at(m, 0, "b.b").flags).toEqual([]);
    expect(at(m, 0, "a.a").flags).toEqual([]);
    expect(at(m, 50, "a.a").flags).toEqual(["g"]);
    expect(at(m, 120, "b.b").flags).toEqual(["h", "s"]);
    expect(at(m, 300, "a.a").flags).toEqual([]);
  });

  it("counts distinct attribute values in the window", () => {
    const m = monitor("rule a: allow *\nrule d: deny x.y when distinct(context.tier of a.a by session within 1s) >= 2");
    at(m, 0, "a.a", { context: { tier: "gold" } });
    at(m, 10, "a.a", { context: { tier: "gold" } });
    expect(effect(m, 20, "x.y")).toBe("allow");
    at(m, 30, "a.a", { context: { tier: "free" } });
    expect(effect(m, 40, "x.y")).toBe("deny");
    expect(effect(m, 1009, "x.y")).toBe("deny");
    expect(effect(m, 1010, "x.y")).toBe("allow");
  });

  it("applies GCRA: a burst of N, then one per D/N", () => {
    const m = monitor("rule a: allow *\nrule f: flag a.a when rate(attempted a.a by session, 2 per 1s)");
    expect(at(m, 0, "a.a").flags).toEqual([]);
    expect(at(m, 0, "a.a").flags).toEqual([]);
    expect(at(m, 0, "a.a").flags).toEqual(["f"]);
    expect(at(m, 499, "a.a").flags).toEqual(["f"]);
    expect(at(m, 500, "a.a").flags).toEqual([]);
  });

  it("computes regularity over the last N gaps, absent before N gaps", () => {
    const m = monitor("rule a: allow *\nrule r: flag a.a when regularity(attempted a.a by session over 2) < 0.1\nrule q: flag a.a when not (regularity(attempted a.a by session over 2) < 0.1)");
    expect(at(m, 0, "a.a").flags).toEqual(["q"]);
    expect(at(m, 100, "a.a").flags).toEqual(["q"]);
    expect(at(m, 200, "a.a").flags).toEqual(["r"]);
    expect(at(m, 400, "a.a").flags).toEqual(["q"]);
  });

  it("finds ordered subsequences within D of their first event, cut by until", () => {
    const m = monitor("rule a: allow *\nrule f: flag c.c when sequence(a.a, b.b by session within 1s until signal s.stop)");
    at(m, 0, "b.b");
    at(m, 100, "a.a");
    expect(at(m, 200, "c.c").flags).toEqual([]);
    at(m, 300, "b.b");
    expect(at(m, 400, "c.c").flags).toEqual(["f"]);
    expect(at(m, 1100, "c.c").flags).toEqual([]);
    at(m, 1200, "a.a");
    at(m, 1300, "b.b");
    m.observe({ signal: "s.stop", session: "s1", time: 1400 });
    expect(at(m, 1500, "c.c").flags).toEqual([]);
  });

  it("clamps time that goes backwards to the key's latest time", () => {
    const m = monitor("rule a: allow *\nrule d: deny b.b when count(a.a by session within 1s) >= 1");
    at(m, 5000, "a.a");
    expect(effect(m, 4000, "b.b")).toBe("deny");
    expect(effect(m, 5999, "b.b")).toBe("deny");
    expect(effect(m, 6000, "b.b")).toBe("allow");
  });
});

describe("rule clauses with state", () => {
  it("limits an allow rule to N allowed uses per key in the window", () => {
    const m = monitor("rule one: allow a.a limit 2 per session within 1s");
    expect([0, 1, 2].map((t) => effect(m, t, "a.a"))).toEqual(["allow", "allow", "deny"]);
    expect(effect(m, 2, "a.a", { session: "s2" })).toBe("allow");
    expect(effect(m, 1000, "a.a")).toBe("allow");
  });

  it("ends a grant D after its first allowed use by the key", () => {
    const m = monitor("rule g: allow a.a valid for 1s");
    expect(effect(m, 500, "a.a")).toBe("allow");
    expect(effect(m, 1499, "a.a")).toBe("allow");
    expect(effect(m, 1500, "a.a")).toBe("deny");
    expect(effect(m, 1500, "a.a", { session: "s2" })).toBe("allow");
  });

  it("labels the session when the labelling rule's action happens", () => {
    const m = monitor("rule a: allow *\nrule t: flag secret.read label session += secret for 1s\nrule d: deny http.post when session has secret");
    expect(effect(m, 0, "http.post")).toBe("allow");
    at(m, 10, "secret.read");
    expect(effect(m, 20, "http.post")).toBe("deny");
    expect(effect(m, 20, "http.post", { session: "s2" })).toBe("allow");
    expect(effect(m, 1010, "http.post")).toBe("allow");
  });
});

describe("workflows", () => {
  const wf = "rule a: allow *\nworkflow w by session:\n  c.lookup -> i.read* -> i.export on deviation flag\n";

  it("flags actions of the alphabet that are not allowed next steps and ignores the others", () => {
    const m = monitor(wf);
    expect(at(m, 0, "c.lookup").flags).toEqual([]);
    expect(at(m, 1, "i.read").flags).toEqual([]);
    expect(at(m, 2, "other.thing").flags).toEqual([]);
    expect(at(m, 3, "i.read").flags).toEqual([]);
    expect(at(m, 4, "i.export").flags).toEqual([]);
    expect(at(m, 5, "c.lookup").flags).toEqual([]);
    expect(at(m, 6, "c.lookup").flags).toEqual(["w"]);
  });

  it("restarts from a deviating action that happened", () => {
    const m = monitor(wf);
    expect(at(m, 0, "i.export").flags).toEqual(["w"]);
    expect(at(m, 1, "c.lookup").flags).toEqual([]);
    const n = monitor(wf);
    expect(at(n, 0, "i.read").flags).toEqual(["w"]);
    expect(at(n, 1, "i.export").flags).toEqual([]);
  });
});

describe("revocation", () => {
  it("denies every later request of a revoked key until it is reinstated", () => {
    const m = monitor("rule a: allow *\nrule k: revoke a.kill\nrule p: revoke a.ban target principal");
    expect(effect(m, 0, "a.kill")).toBe("revoke");
    expect(at(m, 1, "x.y")).toMatchObject({ effect: "deny", rules: [], errors: [{ rule: "k", code: "R307" }] });
    expect(effect(m, 1, "x.y", { session: "s2" })).toBe("allow");
    m.reinstate("session:s1");
    expect(effect(m, 2, "x.y")).toBe("allow");
    expect(effect(m, 3, "a.ban", { session: "s3" })).toBe("revoke");
    expect(effect(m, 4, "x.y", { session: "s4" })).toBe("deny");
  });

  it("revokes on signals with `revoke signal X`", () => {
    const m = monitor("rule a: allow *\nrule k: revoke signal session.revoked");
    expect(m.observe({ signal: "session.revoked", session: "s1", time: 0 })).toEqual({ flags: [], revoked: ["session:s1"] });
    expect(effect(m, 1, "x.y")).toBe("deny");
  });
});

describe("requests", () => {
  it("denies malformed requests (R304) without recording them", () => {
    const m = monitor("rule a: allow *\nrule d: deny b.b when count(attempted * by principal within 1m) >= 1");
    for (const bad of [null, {}, { principal: bot, action: "x.y", time: NaN }, { principal: { kind: "agent" }, action: "x.y", time: 0 }, { principal: bot, action: "x.y", time: 0, context: [] }]) {
      expect(m.decide(bad)).toMatchObject({ effect: "deny", errors: [{ code: "R304" }] });
    }
    expect(effect(m, 0, "b.b")).toBe("allow");
  });
});
