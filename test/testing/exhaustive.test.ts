import { describe, expect, it } from "vitest";
import type { Policy } from "../../src/runtime/engine.js";
import type { TraceEntry } from "../../src/testing/arbitraries.js";
import { diffPolicies } from "../../src/testing/diff.js";
import { alphabetOf, exploreTraces, traceCount, type Alphabet } from "../../src/testing/exhaustive.js";
import { checkProperties } from "../../src/testing/properties.js";
import { compiled, example } from "./helpers.js";
import { observe } from "../../src/runtime/operations.js";

/** Every trace of up to `n` events over the alphabet, without any pruning: the definition the search must meet. */
function* bruteForce(a: Alphabet, n: number, prefix: TraceEntry[] = []): Generator<TraceEntry[]> {
  if (prefix.length === n) return;
  for (const l of a.letters)
    for (const gap of prefix.length === 0 ? [0] : a.gaps) {
      const t = [...prefix, { ...l.event, time: (prefix[prefix.length - 1]?.time ?? 0) + gap } as unknown as TraceEntry];
      yield t;
      yield* bruteForce(a, n, t);
    }
}

/** Whether the last request of a trace is allowed on `policy`. */
function lastAllowed(policy: Policy, t: readonly TraceEntry[], action: string): boolean {
  let s = policy.initialState();
  let last = false;
  for (const e of t) {
    if ("signal" in e) s = observe(policy, s, e).state;
    else {
      const r = policy.decide(s, e);
      s = r.state;
      last = e.action === action && r.decision.effect === "allow";
    }
  }
  return last;
}

describe("exhaustive mode: every trace up to a bound", () => {
  it("the alphabet has one value per region of each attribute, and gaps on each window's edges", () => {
    const { policy } = compiled(example("release-approval.rules"));
    const a = alphabetOf([policy]);
    expect(a.gaps).toEqual([0, 3_599_999, 3_600_000]);
    const pushes = a.letters.filter((l) => l.event.action === "release.push");
    // principal (human, or a kind no selector names) x resource (matching the glob, another, none) x session
    expect(pushes.length).toBe(2 * 3 * 2);
    expect(a.letters.some((l) => l.event.signal === "approval.granted")).toBe(true);
    expect(a.size).toBe(a.letters.length);
  });

  it("proves a claim up to the bound, and finds the shortest counterexample of a wrong one", () => {
    const source = `${example("release-approval.rules")}
property "right" {
  never allow release.push unless after(signal approval.granted by session within 1h)
}
property "wrong: the approval lasts half an hour" {
  never allow release.push unless after(signal approval.granted by session within 30m)
}`;
    const { ast } = compiled(source);
    const { results } = checkProperties(source, ast, { seed: 1, runs: 1, exhaustive: 3 });
    const [right, wrong] = results;
    expect(right).toMatchObject({ ok: true });
    expect(right!.exhaustive).toMatchObject({ maxEvents: 3, depth: 3, complete: true });
    expect(right!.exhaustive!.traces).toBe(traceCount(right!.exhaustive!.letters, right!.exhaustive!.gaps, 3));
    expect(wrong!.ok).toBe(false);
    expect(wrong!.counterexample!.trace.length).toBe(2);
  });

  it("with state merging it finds exactly what brute force finds (a bug at depth 2)", () => {
    // The broken deploy bot lets a human push without approval: depth 1. A window bug needs two events.
    const { policy: good } = compiled(example("release-approval.rules"));
    const { policy: shorter } = compiled(example("release-approval.rules").replace("within 1h", "within 30m"));
    const a = alphabetOf([good, shorter]);
    const brute = [...bruteForce(a, 2)].filter((t) => lastAllowed(good, t, "release.push") !== lastAllowed(shorter, t, "release.push"));
    expect(brute.length).toBeGreaterThan(0);
    expect(Math.min(...brute.map((t) => t.length))).toBe(2);
    let found: readonly TraceEntry[] | null = null;
    const report = exploreTraces([good, shorter], a, { maxEvents: 2 }, (t, [x, y]) => {
      const differ = x!.decision !== null && y!.decision !== null && x!.decision.effect !== y!.decision.effect;
      if (differ) found = [...t];
      return differ;
    });
    expect(found).not.toBeNull();
    expect(found!).toHaveLength(2);
    // Every trace of one event was checked before the difference turned up at two.
    expect(report).toMatchObject({ stopped: "found", depth: 1, complete: false });
  });

  it("a policy diffed with itself: no difference, proved up to the bound", () => {
    const r = diffPolicies({ source: example("deploy-bot.rules") }, { source: example("deploy-bot.rules") }, { seed: 1, runs: 20, exhaustive: 3 });
    expect(r.groups).toEqual([]);
    expect(r.exhaustive).toMatchObject({ maxEvents: 3, depth: 3, complete: true });
    expect(r.exhaustive!.decisions).toBeLessThan(r.exhaustive!.traces);
  });

  it("a budget too small stops early and says how far it got", () => {
    const { policy } = compiled(example("one-secret.rules"));
    const a = alphabetOf([policy]);
    const r = exploreTraces([policy], a, { maxEvents: 3, budget: 500 }, () => false);
    expect(r).toMatchObject({ complete: false, stopped: "budget", depth: 1, maxEvents: 3 });
    expect(r.decisions).toBe(500);
  });

  it("an alphabet too large is refused, not cut", () => {
    const rules = Array.from({ length: 30 }, (_, i) => `rule r${i}: allow a${i}.x when context.v${i} > ${i} and context.w${i} == "x"`).join("\n");
    const { policy } = compiled(`${rules}\nrule all: deny * when context.a > 1 and context.b > 1 and context.c > 1 and context.d > 1 and context.e > 1 and context.f > 1 and context.g > 1\n`);
    const a = alphabetOf([policy]);
    expect(a.size).toBeGreaterThan(20_000);
    expect(a.letters).toEqual([]);
    expect(exploreTraces([policy], a, { maxEvents: 1 }, () => false)).toMatchObject({ complete: false, stopped: "alphabet", depth: 0 });
  });
});
