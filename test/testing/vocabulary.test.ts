import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbContext, arbRequest, arbTrace } from "../../src/testing/arbitraries.js";
import { neighbours, vocabularyOf } from "../../src/testing/vocabulary.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { compiled, example } from "./helpers.js";

describe("vocabularyOf: the words of a policy", () => {
  const { policy } = compiled(`
rule bots: allow build.validate for agent "ci-*", service "deployer" { team: "ops" } on repo/*
rule risky: deny * when context.risk >= 0.9 or context.tier == "free" or not context.mfa
rule approval: challenge release.push unless after(signal approval.granted by session within 1h)
rule stuffing: deny login.attempt when count(signal login.fail by context.ip within 1m) >= 5
rule timing: flag login.attempt when gap(attempted login.attempt by context.ip) < 300ms
rule chaining: deny * for service * when distinct(action.domain by principal within 5m) > 3
rule groups: allow wiki.edit when "editors" in context.groups
rule office: allow door.open when context.ip like "10.*"
`);
  const v = vocabularyOf(policy);

  it("has declared actions, rule targets, operator events and signals", () => {
    expect(v.actions).toEqual(expect.arrayContaining(["build.validate", "release.push", "login.attempt", "wiki.edit", "door.open"]));
    expect(v.signals).toEqual(expect.arrayContaining(["approval.granted", "login.fail"]));
  });

  it("turns id globs into matching ids and keeps kinds with their ids", () => {
    expect(v.principals).toEqual(expect.arrayContaining([{ kind: "agent", id: "ci-x" }, { kind: "service", id: "deployer" }]));
  });

  it("tries numbers around every constant a condition compares with: >= 0.9 gives 0.89, 0.9, 0.91", () => {
    expect(neighbours(0.9)).toEqual(expect.arrayContaining([0.89, 0.91]));
    const risk = v.attributes.find((a) => a.root === "context" && a.segments.join(".") === "risk")!;
    expect(risk.values).toEqual(expect.arrayContaining([0.89, 0.9, 0.91]));
  });

  it("tries string literals and a value no literal names, both booleans, set members, glob instances", () => {
    const pool = (root: string, path: string) => v.attributes.find((a) => a.root === root && a.segments.join(".") === path)!.values;
    expect(pool("context", "tier")).toEqual(expect.arrayContaining(["free", "other"]));
    expect(pool("context", "mfa")).toEqual(expect.arrayContaining([true, false]));
    expect(pool("context", "groups")).toEqual(expect.arrayContaining([["editors"], []]));
    expect(pool("context", "ip")).toEqual(expect.arrayContaining(["10.x"]));
    expect(pool("principal", "team")).toEqual(expect.arrayContaining(["ops", "other"]));
  });

  it("gaps straddle every window and duration: 0, w-1, w, w+1", () => {
    for (const w of [3_600_000, 60_000, 300_000, 300]) expect(v.gaps).toEqual(expect.arrayContaining([w - 1, w, w + 1]));
    expect(v.gaps).toEqual(expect.arrayContaining([0, 1000]));
  });

  it("bursts reach count thresholds, and distinct counts get enough distinct domains", () => {
    expect(v.repeats).toEqual(expect.arrayContaining([4, 5, 6]));
    const domains = new Set(v.actions.map((a) => a.split(".")[0]));
    expect(domains.size).toBeGreaterThan(4);
  });
});

describe("arbitraries", () => {
  const { policy } = compiled(example("credential-stuffing.rules"));

  it("arbRequest gives valid requests the policy decides without R304", () => {
    fc.assert(
      fc.property(arbRequest(policy), (r) => {
        const d = policy.decide(policy.initialState(), r).decision;
        return !d.errors.some((e) => e.code === "R304");
      }),
      { numRuns: 200, seed: 1 },
    );
  });

  it("arbTrace gives non-decreasing times starting at `start`, JSON round-trippable", () => {
    fc.assert(
      fc.property(arbTrace(policy, { start: 5000 }), (t) => {
        expect(t[0]!.time).toBe(5000);
        for (let i = 1; i < t.length; i++) expect(t[i]!.time).toBeGreaterThanOrEqual(t[i - 1]!.time);
        expect(JSON.parse(JSON.stringify(t))).toEqual(t);
      }),
      { numRuns: 100, seed: 2 },
    );
  });

  it("arbContext from a schema gives declared fields of their types; optional ones sometimes missing", () => {
    const { ast } = parsePolicy(`schema { context { risk: number, mfa: bool, ip?: string, tier: "gold" | "free", groups: set<string> } }`);
    const samples = fc.sample(arbContext(ast), { numRuns: 200, seed: 3 });
    for (const c of samples) {
      expect(typeof c.risk).toBe("number");
      expect(typeof c.mfa).toBe("boolean");
      expect(["gold", "free"]).toContain(c.tier);
      expect(Array.isArray(c.groups)).toBe(true);
    }
    expect(samples.some((c) => !("ip" in c))).toBe(true);
    expect(samples.some((c) => typeof c.ip === "string")).toBe(true);
  });

  it("arbContext from a policy gives the attributes its conditions and keys read", () => {
    const samples = fc.sample(arbContext(policy), { numRuns: 50, seed: 4 });
    expect(samples.some((c) => typeof c.ip === "string")).toBe(true);
  });
});
