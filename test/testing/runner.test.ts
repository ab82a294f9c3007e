import { describe, expect, it } from "vitest";
import { runTests, testEvents } from "../../src/testing/runner.js";
import type { TestDecl } from "../../src/ast/nodes.js";
import { compiled } from "./helpers.js";

const STUFFING = `
rule logins: allow login.attempt
rule stuffing: challenge login.attempt when count(signal login.fail by context.ip within 1m) >= 2
rule validate: allow build.validate for agent "deploy-bot" on repo/*
rule tag: flag build.validate when context.risk > 0.5
`;

function run(source: string) {
  const { policy, ast } = compiled(source);
  return { results: runTests(policy, ast), ast };
}

describe("runTests: test blocks", () => {
  it("threads state through the steps and passes when every effect matches", () => {
    const { results } = run(`${STUFFING}
test "two failures need a captcha" {
  at 0s signal login.fail context { ip: "203.0.113.9" }
  at 1s signal login.fail context { ip: "203.0.113.9" }
  at 2s human "mallory" login.attempt context { ip: "203.0.113.9" } => challenge by stuffing
  at 3s human "alice" login.attempt context { ip: "192.0.2.1" } session "s1" => allow by logins
}`);
    expect(results).toHaveLength(1);
    expect(results[0]!.ok).toBe(true);
    expect(results[0]!.steps.map((s) => s.kind)).toEqual(["signal", "signal", "request", "request"]);
  });

  it("times: `at D` from epoch 0, a step without `at` one second after the previous one, the first at 0", () => {
    const { ast } = run(`${STUFFING}
test "times" {
  signal login.fail
  human "a" login.attempt => allow
  at 1m human "a" login.attempt => allow
  human "a" login.attempt => allow
}`);
    const test = ast.items.find((i): i is TestDecl => i.kind === "TestDecl")!;
    expect(testEvents(test).map((e) => e.time)).toEqual([0, 1000, 60_000, 61_000]);
  });

  it("builds requests: principal attributes, resource path from the glob text plus attributes, session, context", () => {
    const { ast } = run(`${STUFFING}
test "shape" {
  agent "deploy-bot" build.validate repo/app session "s1" principal { team: "ops" } resource { owner: "bob" } context { risk: 0.7, groups: ["a", "b"], ttl: 5m } => allow
  signal approval.granted by human "alice" session "s1"
}`);
    const test = ast.items.find((i): i is TestDecl => i.kind === "TestDecl")!;
    const [req, sig] = testEvents(test);
    expect(req).toEqual({
      principal: { team: "ops", kind: "agent", id: "deploy-bot" },
      action: "build.validate",
      resource: { owner: "bob", path: "repo/app" },
      context: { risk: 0.7, groups: ["a", "b"], ttl: 300_000 },
      session: "s1",
      time: 0,
    });
    expect(sig).toEqual({ signal: "approval.granted", principal: { kind: "human", id: "alice" }, session: "s1", time: 1000 });
  });

  it("reports a wrong effect and a wrong `by RULE` with the step's span", () => {
    const { results } = run(`${STUFFING}
test "wrong" {
  agent "deploy-bot" build.validate repo/app => deny
  agent "deploy-bot" build.validate repo/app => allow by logins
  agent "deploy-bot" build.validate repo/app => allow by validate
}`);
    const [t] = results;
    expect(t!.ok).toBe(false);
    const [a, b, c] = t!.steps;
    expect(a).toMatchObject({ ok: false, message: "expected deny, got allow by validate", expected: { effect: "deny", rule: null }, got: { effect: "allow", rules: ["validate"] } });
    expect(a!.span).toMatchObject({ line: 8, column: 3 });
    expect(b).toMatchObject({ ok: false, message: "expected allow by logins, got allow by validate" });
    expect(b!.span.line).toBe(9);
    expect(c!.ok).toBe(true);
  });

  it("`=> flag by RULE` expects the rule among the flags", () => {
    const { results } = run(`${STUFFING}
test "flags" {
  agent "deploy-bot" build.validate repo/app context { risk: 0.9 } => flag by tag
  agent "deploy-bot" build.validate repo/app context { risk: 0.1 } => flag by tag
}`);
    expect(results[0]!.steps.map((s) => s.ok)).toEqual([true, false]);
    expect(results[0]!.steps[1]!.message).toBe("expected flag tag, got no flag");
  });

  it("the default deny names the code in the message", () => {
    const { results } = run(`${STUFFING}
test "default deny" {
  agent "deploy-bot" release.push repo/app => allow
}`);
    expect(results[0]!.steps[0]!.message).toMatch(/^expected allow, got deny \(R313: no allow rule matched release.push\)$/);
  });

  it("runs the test blocks of every example", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const { EXAMPLES } = await import("./helpers.js");
    for (const f of readdirSync(EXAMPLES).filter((x) => x.endsWith(".rules"))) {
      const { policy, ast } = compiled(readFileSync(`${EXAMPLES}/${f}`, "utf8"), f);
      for (const t of runTests(policy, ast)) expect(t.ok, `${f}: ${t.name}`).toBe(true);
    }
  });
});
