import { describe, expect, it } from "vitest";
import { checkProperties } from "../../src/testing/properties.js";
import { compiled, example } from "./helpers.js";

function check(source: string, seed = 1, runs?: number) {
  const { ast } = compiled(source);
  const r = checkProperties(source, ast, { seed, runs, file: "test.rules" });
  expect(r.diagnostics).toEqual([]);
  return r.results;
}

describe("checkProperties: random traces from the policy's own vocabulary", () => {
  it("the examples' properties hold", () => {
    for (const f of ["deploy-bot.rules", "ticket-agent.rules"]) {
      const results = check(example(f));
      expect(results.length).toBeGreaterThan(0);
      for (const r of results) {
        expect(r.ok, `${f}: ${r.claim}`).toBe(true);
        expect(r.runs).toBe(200);
        expect(r.applied).toBeGreaterThan(0);
      }
    }
  });

  it("finds and shrinks the bot pushing in the broken deploy-bot", () => {
    const results = check(example("broken/deploy-bot.rules"));
    const bot = results.find((r) => r.property === "the bot never pushes")!;
    expect(bot.ok).toBe(false);
    const c = bot.counterexample!;
    expect(c.trace).toHaveLength(1);
    expect(c.trace[0]).toMatchObject({ principal: { kind: "agent", id: "deploy-bot" }, action: "release.push" });
    expect(c.decision).toMatchObject({ effect: "allow", rules: ["humans-release"] });
    expect(c.message).toBe("event 1 (release.push) was allow by humans-release; the claim says never allow");
    expect(c.phase).toBe("directed");
    // The test block pins the trace: the violating step expects what the claim wants.
    expect(c.outcomes.map((o) => o.effect)).toEqual(["allow"]);
    expect(c.claimed).toBe("deny");
    const approval = results.find((r) => r.property === "no release without approval")!;
    expect(approval.ok).toBe(false);
    expect(approval.counterexample!.trace.length).toBeLessThanOrEqual(3);
  });

  it("the same seed gives the same counterexample", () => {
    const a = check(example("broken/deploy-bot.rules"), 42);
    const b = check(example("broken/deploy-bot.rules"), 42);
    expect(a.map((r) => r.counterexample)).toEqual(b.map((r) => r.counterexample));
  });

  it("claims with history conditions use the real operators; a wrong window is found on its boundary", () => {
    const source = `${example("exfiltration.rules")}
property "mail waits ten minutes after a secret" {
  never allow email.send when after(secret.read by session within 10m)
}
property "mail waits twenty minutes after a secret (wrong)" {
  never allow email.send when after(secret.read by session within 20m)
}`;
    const [right, wrong] = check(source);
    expect(right!.ok).toBe(true);
    expect(right!.applied).toBeGreaterThan(0);
    expect(wrong!.ok).toBe(false);
    const trace = wrong!.counterexample!.trace;
    // `after(secret.read ...)` sees events that happened: an allowed secret.read or a secret.read signal.
    const read = trace.find((e) => ("action" in e && e.action === "secret.read") || ("signal" in e && e.signal === "secret.read"))!;
    expect(trace).toHaveLength(2);
    const send = trace[trace.length - 1]!;
    expect(send).toMatchObject({ action: "email.send" });
    // Allowed exactly when the read has left the 10 minute window: now - t >= 10m.
    expect(send.time - read.time).toBeGreaterThanOrEqual(600_000);
    expect(send.time - read.time).toBeLessThan(1_200_000);
  });

  it("bursts reach counts: a threshold one below the policy's is refuted", () => {
    const source = `${example("credential-stuffing.rules")}
property "five failures in a minute need a captcha" {
  never allow login.attempt when count(signal login.fail by context.ip within 1m) >= 5
}
property "four failures need a captcha (wrong)" {
  never allow login.attempt when count(signal login.fail by context.ip within 1m) >= 4
}`;
    const [right, wrong] = check(source);
    expect(right!.ok).toBe(true);
    expect(wrong!.ok).toBe(false);
    const trace = wrong!.counterexample!.trace;
    expect(trace.filter((e) => "signal" in e && e.signal === "login.fail")).toHaveLength(4);
  });

  it("always-claims: the effect must be exactly the one claimed", () => {
    const source = `${example("deploy-bot.rules")}
property "agents always get deny on a push" {
  always deny release.push for agent *
}
property "humans are always challenged (wrong: an approval lets them through)" {
  always challenge release.push for human * on repo/*
}`;
    const results = check(source);
    const [agents, humans] = results.slice(-2);
    expect(agents!.ok).toBe(true);
    expect(humans!.ok).toBe(false);
    const trace = humans!.counterexample!.trace;
    expect(trace.some((e) => "signal" in e && e.signal === "approval.granted")).toBe(true);
    expect(humans!.counterexample!.decision.effect).toBe("allow");
  });

  it("a claim whose conditions never hold is vacuous: it fails, since it proved nothing", () => {
    const [r] = check(`rule a: allow x.read
property "nothing" {
  never allow x.read when context.risk > 1 and context.risk < 0
}`);
    expect(r!.ok).toBe(false);
    expect(r!.vacuous).toBe(true);
    expect(r!.applied).toBe(0);
    expect(r!.counterexample).toBeUndefined();
    expect(r!.error).toBe("vacuous: no generated request was one the claim is about, so the search proved nothing");
  });

  it("a timeout that cuts the search short fails the claim", () => {
    const { ast } = compiled(example("deploy-bot.rules"));
    const r = checkProperties(example("deploy-bot.rules"), ast, { seed: 1, runs: 100_000_000, timeout: 50 });
    expect(r.results[0]!.ok).toBe(false);
    expect(r.results[0]!.timedOut).toBe(true);
    expect(r.results[0]!.error).toMatch(/^timed out after 50 ms (?:\(\d+ directed traces\)|and \d+ directed and \d+ random traces) without a counterexample$/);
  });
});
