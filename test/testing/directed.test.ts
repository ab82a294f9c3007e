import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Policy } from "../../src/runtime/engine.js";
import type { TraceEntry } from "../../src/testing/arbitraries.js";
import { arbDirectedTrace, directedTraces, renumber } from "../../src/testing/directed.js";
import { OPERATORS } from "../../src/testing/plans.js";
import { compiled, EXAMPLES, ROOT } from "./helpers.js";
import { observe } from "../../src/runtime/operations.js";

const CORPUS = join(ROOT, "test", "corpus", "policies");
const policies = [
  ...readdirSync(EXAMPLES).filter((f) => f.endsWith(".rules")).map((f) => join(EXAMPLES, f)),
  ...readdirSync(CORPUS).filter((f) => f.endsWith(".rules")).map((f) => join(CORPUS, f)),
];

/** The rules that decided (or flagged, or revoked on a signal) in some event of the traces. */
function decidedBy(policy: Policy, traces: readonly (readonly TraceEntry[])[]): Set<string> {
  const out = new Set<string>();
  for (const t of traces) {
    let s = policy.initialState();
    for (const e of t) {
      if ("signal" in e) {
        const r = observe(policy, s, e);
        s = r.state;
        for (const x of [...r.revoked.map((v) => v.rule), ...r.flags]) out.add(x);
        continue;
      }
      const r = policy.decide(s, e);
      s = r.state;
      for (const x of [...r.decision.rules, ...r.decision.flags]) out.add(x);
    }
  }
  return out;
}

function gapsOf(t: readonly TraceEntry[]): number[] {
  return t.slice(1).map((e, i) => e.time - t[i]!.time);
}

describe("directed traces: every threshold, window, limit, label and rule of the policy", () => {
  for (const file of policies) {
    it(`make every rule of ${file.slice(ROOT.length + 1)} decide`, () => {
      const { policy } = compiled(readFileSync(file, "utf8"), file);
      const traces = directedTraces(policy);
      const decided = decidedBy(policy, traces.map((t) => t.trace));
      expect(policy.ruleIds.filter((r) => !decided.has(r))).toEqual([]);
    });
  }

  it("straddle a window: the last event 1 ms inside and at its end", () => {
    const { policy } = compiled("rule tools: allow card.view, email.send\nrule r: deny email.send when after(card.view by session within 5m)\n");
    const about = directedTraces(policy).filter((t) => t.rules.includes("r") && t.trace.length === 2);
    const gaps = about.map((t) => gapsOf(t.trace)[0]);
    expect(gaps).toContain(299_999);
    expect(gaps).toContain(300_000);
    // The same events by another session do not count for this one.
    expect(about.some((t) => t.trace[0]!.session !== t.trace[1]!.session)).toBe(true);
  });

  it("straddle a count: N-1, N and N+1 events before the request, and the oldest leaving the window", () => {
    const { policy } = compiled("rule logins: allow login.attempt\nrule r: deny login.attempt when count(signal login.fail by context.ip within 1m) >= 5\n");
    const traces = directedTraces(policy).filter((t) => t.rules.includes("r"));
    const fails = (t: readonly TraceEntry[]) => t.filter((e) => "signal" in e).length;
    const counts = new Set(traces.map((t) => fails(t.trace)));
    for (const k of [4, 5, 6]) expect(counts).toContain(k);
    const edge = traces.find((t) => fails(t.trace) === 5 && t.trace[t.trace.length - 1]!.time - t.trace[0]!.time === 60_000);
    expect(edge).toBeDefined();
    // Every event of a plan carries the key the count is kept by.
    expect(new Set(edge!.trace.map((e) => JSON.stringify(e.context?.ip)))).toEqual(new Set(['"k1"']));
    const decisions = traces.map((t) => {
      let s = policy.initialState();
      let last = "";
      for (const e of t.trace) {
        if ("signal" in e) s = observe(policy, s, e).state;
        else {
          const r = policy.decide(s, e);
          s = r.state;
          last = r.decision.effect;
        }
      }
      return last;
    });
    expect(new Set(decisions)).toEqual(new Set(["allow", "deny"]));
  });

  it("reach a count of a hundred, and a window one day shorter or longer", () => {
    const src = (w: string) => `rule exports: allow contact.export\nrule cap: deny contact.export when count(allowed contact.export by principal within ${w}) >= 100\n`;
    for (const w of ["1d", "12h"]) {
      const { policy } = compiled(src(w));
      const traces = directedTraces(policy).filter((t) => t.rules.includes("cap"));
      const lengths = new Set(traces.map((t) => t.trace.length - 1));
      for (const k of [99, 100, 101]) expect(lengths).toContain(k);
      expect(decidedBy(policy, traces.map((t) => t.trace))).toContain("cap");
    }
  });

  it("reach a `since` constant longer than the key's lifetime: another event of the key keeps its state", () => {
    // The session group lives 24 h (the default key lifetime); `since(...) < 36h` needs its state kept.
    const { policy } = compiled("rule tools: allow a.run, b.run, x.run\nrule r: deny x.run when since(a.run by session) < 36h\nrule q: deny x.run when after(b.run by session within 1m)\n");
    const traces = directedTraces(policy).filter((t) => t.rules.includes("r") && t.trace.length === 3);
    const late = traces.filter((t) => t.trace[2]!.time === 36 * 3600_000 - 1 && "action" in t.trace[1]! && t.trace[1].action === "b.run");
    expect(late.length).toBeGreaterThan(0);
    expect(decidedBy(policy, late.map((t) => t.trace))).toContain("r");
  });

  it("straddle a regularity constant: gaps whose variation is just under and just over it", () => {
    const { policy } = compiled("rule vpn: allow vpn.connect\nrule robotic: flag vpn.connect when regularity(attempted vpn.connect by context.ip over 4) < 0.05\n");
    const flagged = directedTraces(policy)
      .filter((t) => t.rules.includes("robotic") && t.trace.some((e) => e.time >= 400_000))
      .map((t) => {
        let s = policy.initialState();
        let flags: readonly string[] = [];
        for (const e of t.trace) ({ state: s, decision: { flags } } = policy.decide(s, e as never));
        return flags.includes("robotic");
      });
    // One trace each side of 0.05 with the request's own gap counted, and one each side without.
    expect(flagged.filter((f) => f).length).toBeGreaterThanOrEqual(1);
    expect(flagged.filter((f) => !f).length).toBeGreaterThanOrEqual(1);
  });

  it("build a `for *` rule's history plans for every principal kind the rules name", () => {
    const { policy } = compiled(
      'rule agents: allow email.send for agent *\nrule staff: allow email.send for human * { team: "support" }\nrule rate: deny email.send when count(allowed email.send by principal within 1h) >= 3\n',
    );
    const traces = directedTraces(policy).filter((t) => t.site.startsWith("principal|count") && t.trace.length === 4);
    const kinds = new Set(traces.map((t) => JSON.stringify(t.trace.map((e) => e.principal?.kind))));
    expect(kinds).toEqual(new Set([JSON.stringify(["agent", "agent", "agent", "agent"]), JSON.stringify(["human", "human", "human", "human"])]));
    expect(traces.find((t) => t.trace[0]!.principal?.kind === "human")!.trace[0]!.principal).toMatchObject({ team: "support" });
  });

  it("meet the history a request needs: a lookup is placed before a refund that requires it", () => {
    const { policy } = compiled(
      "rule agents: allow customer.lookup, refund.issue for agent *\n  limit 2 per session\nrule lookup-first: deny refund.issue unless after(customer.lookup by session within 30m)\n",
    );
    const limit = directedTraces(policy).filter((t) => t.site.includes("limit"));
    expect(limit.length).toBeGreaterThan(0);
    for (const t of limit) {
      const first = t.trace.findIndex((e) => "action" in e && e.action === "refund.issue");
      expect(t.trace.slice(0, first).some((e) => "action" in e && e.action === "customer.lookup")).toBe(true);
    }
    // Two refunds allowed, the third over the limit.
    expect(decidedBy(policy, limit.map((t) => t.trace))).toContain("agents");
  });

  it("are deterministic and start at time 0 with times that never go back", () => {
    const { policy } = compiled(readFileSync(join(CORPUS, "support.rules"), "utf8"));
    const a = directedTraces(policy);
    const { policy: again } = compiled(readFileSync(join(CORPUS, "support.rules"), "utf8"));
    expect(directedTraces(again)).toEqual(a);
    for (const t of a) {
      expect(t.trace[0]!.time).toBe(0);
      expect(gapsOf(t.trace).every((g) => g >= 0)).toBe(true);
    }
  });

  it("mixtures move each part onto sessions of its own, and put revoking signals of their noise on a session of their own", () => {
    const { policy } = compiled(readFileSync(join(CORPUS, "support.rules"), "utf8"));
    const parts = directedTraces(policy);
    const moved = renumber(parts[0]!.trace, 4);
    expect(moved.every((e) => e.session === undefined || /^s[5-9]$/.test(e.session))).toBe(true);
    expect(moved.map((e) => e.time)).toEqual(parts[0]!.trace.map((e) => e.time));
    // An alert of a directed part is followed one second later by a request (of its session, or of
    // one that shares its principal or neither: what the revocation reaches); an alert of the noise
    // is on a session of its own (s99).
    let noise = 0;
    for (const t of fc.sample(arbDirectedTrace(policy), { numRuns: 300, seed: 7 }))
      t.forEach((e, i) => {
        if (!("signal" in e) || e.signal !== "risk.alert") return;
        if (e.session === "s99") return void noise++;
        expect(t.slice(i + 1).some((x) => "action" in x && x.time === e.time + 1000)).toBe(true);
      });
    expect(noise).toBeGreaterThan(0);
    for (const t of fc.sample(arbDirectedTrace(policy), { numRuns: 100, seed: 8 })) expect(gapsOf(t).every((g) => g >= 0)).toBe(true);
  });

  it("every operator of the IR has an entry (sites and an enabler)", () => {
    for (const op of ["after", "since", "gap", "count", "distinct", "rate", "regularity", "sequence", "workflow", "limit", "grant", "labels"]) {
      expect(OPERATORS).toHaveProperty(op);
    }
  });
});
