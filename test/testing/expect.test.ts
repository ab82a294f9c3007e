import { describe, expect, it } from "vitest";
import { expectPolicy, PolicyClaimError } from "../../src/testing/expect.js";
import { compiled, example } from "./helpers.js";

describe("expectPolicy: property assertions for a user's own test suite", () => {
  it("passes when no counterexample exists", () => {
    expectPolicy(example("deploy-bot.rules"), { seed: 1 }).never("allow", 'release.push for agent "deploy-bot"');
    expectPolicy(example("exfiltration.rules"), { seed: 1 }).never("allow", "email.send when after(secret.read by session within 10m)");
    expectPolicy(example("ticket-agent.rules"), { seed: 1 }).always("deny", "ticket.approve for agent *");
  });

  it("throws an Error whose message holds the shrunk trace, the seed and JSONL", () => {
    let error: unknown;
    try {
      expectPolicy({ source: example("broken/deploy-bot.rules"), file: "broken.rules" }, { seed: 5 }).never("allow", 'release.push for agent "deploy-bot"');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyClaimError);
    const message = (error as Error).message;
    expect(message).toContain('claim failed: never allow release.push for agent "deploy-bot"');
    expect(message).toContain("seed 5");
    expect(message).toMatch(/1 {2}at 0s agent "deploy-bot" release\.push repo\/x session "s1" {3}<- allow by humans-release/);
    // The test block expects what the claim wants at the violating step, so it fails as printed.
    expect(message).toContain('at 0s agent "deploy-bot" release.push repo/x session "s1" => deny  // the claim: never allow release.push for agent "deploy-bot"; the policy says allow');
    expect(message).toContain('{"action":"release.push","principal":{"kind":"agent","id":"deploy-bot"},"resource":{"path":"repo/x"},"session":"s1","time":0,"expect":{"effect":"allow"}}');
    expect((error as PolicyClaimError).result.counterexample!.trace).toHaveLength(1);
  });

  it("accepts a compiled Policy for claims without conditions", () => {
    const broken = compiled(example("broken/deploy-bot.rules")).policy;
    const good = compiled(example("deploy-bot.rules")).policy;
    expectPolicy(good, { seed: 2 }).never("allow", 'release.push for agent "deploy-bot"');
    expect(() => expectPolicy(broken, { seed: 2 }).never("allow", 'release.push for agent "deploy-bot" on repo/*')).toThrow(/breaks|allow by humans-release/);
    expect(() => expectPolicy(good).never("allow", "release.push when context.risk > 1")).toThrow(/pass the policy source/);
  });

  it("check returns the result instead of throwing; a bad claim is an error", () => {
    const r = expectPolicy(example("broken/deploy-bot.rules")).check("never", "allow", "release.push", { seed: 3 });
    expect(r.ok).toBe(false);
    expect(() => expectPolicy(example("deploy-bot.rules")).never("allow", "release.push when")).toThrow(/cannot compile the claim/);
    expect(() => expectPolicy("rule x: allow")).not.toThrow(); // the source is compiled when a claim is checked
    expect(() => expectPolicy("rule x: allow").never("allow", "a.b")).toThrow(/error/);
  });
});
