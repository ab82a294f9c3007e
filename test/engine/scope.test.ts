import { describe, expect, it } from "vitest";
import { compilePolicy, type Policy, type Request } from "../../src/index.js";

function policyOf(src: string): Policy {
  const r = compilePolicy(src, { file: "t.rules" });
  if (!r.policy) throw new Error(r.diagnostics.map((d) => `${d.span.line}:${d.span.column} ${d.code} ${d.message}`).join("\n"));
  return r.policy;
}

const agent = (id: string) => ({ kind: "agent", id });

function decide(p: Policy, req: Partial<Request> & { action: string }) {
  return p.decide(p.initialState(), { principal: agent("a1"), time: 1000, ...req }).decision;
}

describe("scope rules", () => {
  const p = policyOf(`
    actions {
      build.validate, ticket.draft, ticket.read, ticket.close
      release.push, ticket.approve [high]
    }
    rule validate-builds: allow build.validate for agent "deploy-bot" on repo/*
    rule agents-draft: allow ticket.* for agent *
    rule no-risky: deny ticket.* when context.risk >= 0.9 reason "risk too high"
  `);

  it("allows a named principal on a matching resource", () => {
    const d = decide(p, { principal: agent("deploy-bot"), action: "build.validate", resource: { type: "repo", path: "repo/app" } });
    expect(d.effect).toBe("allow");
    expect(d.rules).toEqual(["validate-builds"]);
    expect(d.reasons[0]!.span!.line).toBe(6);
  });

  it("a decision that records nothing returns the state it was given (nothing to persist)", () => {
    const state = p.initialState();
    const out = p.decide(state, { principal: agent("deploy-bot"), action: "build.validate", resource: { path: "repo/app" }, time: 5 });
    expect(out.decision.effect).toBe("allow");
    expect(out.state).toBe(state);
    const history = policyOf("rule r: allow doc.read when count(doc.read by session within 1m) < 3");
    const s0 = history.initialState();
    const recorded = history.decide(s0, { principal: agent("a1"), action: "doc.read", session: "s", time: 5 });
    expect(recorded.state).not.toBe(s0);
    expect(recorded.state.size).toBe(1);
  });

  it("denies by default with R313 when nothing allows", () => {
    const d = decide(p, { principal: agent("other"), action: "build.validate", resource: { path: "repo/app" } });
    expect(d.effect).toBe("deny");
    expect(d.rules).toEqual([]);
    expect(d.reasons.map((r) => r.code)).toContain("R313");
  });

  it("never allows a [high] action through a wildcard", () => {
    const d = decide(p, { action: "ticket.approve", context: { risk: 0 } });
    expect(d.effect).toBe("deny");
    expect(d.reasons.map((r) => r.code)).toContain("R312");
    expect(decide(p, { action: "ticket.draft", context: { risk: 0 } }).effect).toBe("allow");
  });

  it("deny beats allow, and the reason text is reported", () => {
    const d = decide(p, { action: "ticket.draft", context: { risk: 0.95 } });
    expect(d.effect).toBe("deny");
    expect(d.rules).toEqual(["no-risky"]);
    expect(d.reasons[0]!.message).toBe("risk too high");
  });

  it("fails closed: a deny rule whose attribute is missing matches and names the error", () => {
    const d = decide(p, { action: "ticket.draft" });
    expect(d.effect).toBe("deny");
    expect(d.errors).toEqual([expect.objectContaining({ rule: "no-risky", code: "R301" })]);
  });
});
