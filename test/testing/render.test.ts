import { describe, expect, it } from "vitest";
import type { TestDecl, TestRequest } from "../../src/ast/nodes.js";
import { parseJsonLines, replayTrace } from "../../src/runtime/trace.js";
import { parsePolicy } from "../../src/syntax/index.js";
import type { TraceEntry } from "../../src/testing/arbitraries.js";
import { stepOutcomes } from "../../src/testing/outcomes.js";
import { checkProperties } from "../../src/testing/properties.js";
import { counterexampleTest, stepText, traceAsTest, traceJsonl, traceLines } from "../../src/testing/render.js";
import { runTests, testEvents } from "../../src/testing/runner.js";
import { compiled, example } from "./helpers.js";

/** Parses a test block and gives back its events. */
function eventsOf(block: string): TraceEntry[] {
  const parsed = parsePolicy(block, { file: "block.rules" });
  expect(parsed.diagnostics, block).toEqual([]);
  return testEvents(parsed.ast.items.find((i): i is TestDecl => i.kind === "TestDecl")!);
}

describe("rendering traces as test steps and JSONL", () => {
  it("escapes control and BIDI characters so the lexer reads the same strings back", () => {
    const tricky = "a\u202Eb\u0001c\"d\\e\nf\tg\u200Bh\u2028";
    const e = { action: "doc.read", principal: { kind: "human", id: `id-${tricky}`, team: tricky }, resource: { path: `x/${tricky}` }, context: { note: tricky, n: -1.5, on: false, tags: ["a", tricky] }, session: tricky, time: 1500 } as unknown as TraceEntry;
    const line = stepText(e, "allow")!;
    expect(line).toContain("\\u{202E}");
    expect(line).toContain("\\u{1}");
    expect(line).toContain("\\u{200B}");
    expect(line).not.toMatch(/[\u202E\u0001\u200B\u2028\n\t]/);
    const [back] = eventsOf(`test "t" {\n  ${line}\n}\n`);
    expect(back).toEqual(e);
  });

  it("a signal with a principal and attributes, and names that cannot be written as steps", () => {
    const s = { signal: "login.fail", principal: { kind: "human", id: "ana" }, context: { ip: "10.0.0.1" }, session: "s1", time: 60_000 } as unknown as TraceEntry;
    expect(stepText(s)).toBe('at 1m signal login.fail by human "ana" session "s1" context { ip: "10.0.0.1" }');
    expect(eventsOf(`test "t" {\n  ${stepText(s)}\n}\n`)).toEqual([s]);
    expect(stepText({ ...s, context: { "not a name": 1 } } as unknown as TraceEntry)).toBeNull();
    expect(stepText({ ...s, context: { nested: { x: 1 } } } as unknown as TraceEntry)).toBeNull();
    expect(stepText({ action: "doc.read", principal: { kind: "two words", id: "x" }, time: 0 } as unknown as TraceEntry)).toBeNull();
  });

  it("a request step needs an expected effect; every one is written", () => {
    const t = [{ action: "a.b", principal: { kind: "human", id: "x" }, time: 0 }] as unknown as TraceEntry[];
    expect(traceAsTest("t", t, new Map())).toBeNull();
    expect(traceAsTest('say "hi"', t, new Map([[0, "deny"]]), new Map([[0, "why"]]))).toBe('test "say \\"hi\\"" {\n  at 0s human "x" a.b => deny  // why\n}');
  });

  it("a counterexample's test block parses and fails at the step that breaks the claim, and only there", () => {
    const source = `${example("exfiltration.rules")}
property "wrong" {
  never allow email.send when after(secret.read by session within 20m)
}`;
    const { policy, ast } = compiled(source);
    const [r] = checkProperties(source, ast, { seed: 3, file: "x.rules" }).results;
    const c = r!.counterexample!;
    expect(c.claimed).toBe("deny");
    const block = counterexampleTest("counterexample: wrong", c, r!.claim)!;
    const parsed = parsePolicy(`${source}\n${block}\n`, { file: "x.rules" });
    expect(parsed.diagnostics).toEqual([]);
    const [result] = runTests(policy, { ...parsed.ast, items: parsed.ast.items.filter((i) => i.kind === "TestDecl") });
    const failed = result!.steps.filter((s) => !s.ok).map((s) => s.index);
    expect(failed).toEqual([c.index + 1]);
  });

  it("the JSONL carries each event's effect, so `leash eval --check` confirms the replay", () => {
    const { policy } = compiled(example("one-secret.rules"));
    const svc = { kind: "service", id: "billing" };
    const trace = [
      { action: "secret.read", principal: svc, resource: { path: "secret/billing/a" }, session: "s1", time: 0 },
      { action: "secret.read", principal: svc, resource: { path: "secret/billing/b" }, session: "s1", time: 1000 },
    ] as unknown as TraceEntry[];
    const text = traceJsonl(trace, stepOutcomes(policy, trace), ["made by a test"]);
    expect(text.split("\n")[0]).toBe("// made by a test");
    const { events, errors } = parseJsonLines(text);
    expect(errors).toEqual([]);
    const { steps } = replayTrace(policy, events);
    expect(steps.map((s) => s.decision?.effect)).toEqual(["allow", "deny"]);
    expect(steps.every((s) => s.mismatches.length === 0)).toBe(true);
    expect(events.map((e) => e.expect)).toEqual([{ effect: "allow" }, { effect: "deny" }]);
  });
});

describe("counterexamples as test blocks", () => {
  const hostile = ["\u202etxt.exe", "\u001b[2J", "a\u0000b", 'quote " and \\ backslash', "line\nbreak", "zero\u200bwidth", "\u2028"];

  it("write strings with the language's escapes, so the block parses back to the same values", () => {
    const trace = hostile.map((s, i): TraceEntry => ({ time: i * 1000, principal: { kind: "agent", id: s }, action: "doc.read", session: s, context: { note: s } }) as unknown as TraceEntry);
    const block = traceAsTest(`counterexample \u202e`, trace, new Map(trace.map((_, i) => [i, "allow"])))!;
    expect(block).not.toBeNull();
    expect(block).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u200b\u2028\u202e]/u);
    const { ast, diagnostics } = parsePolicy(`schema { context { note: string } }\nrule r: allow doc.read for agent *\n${block}\n`);
    expect(diagnostics).toEqual([]);
    const test = ast.items.find((i): i is TestDecl => i.kind === "TestDecl")!;
    expect(test.name.value).toBe("counterexample \u202e");
    const steps = test.steps as TestRequest[];
    expect(steps.map((s) => s.principalId?.value)).toEqual(hostile);
    expect(steps.map((s) => s.with.map((w) => (w.kind === "WithSession" ? w.session.value : null)).find((v) => v !== null))).toEqual(hostile);
  });

  it("an event whose action is not a name is shown as JSON, not as a step", () => {
    const odd = { time: 0, principal: { kind: "agent", id: "a" }, action: "doc.read\u202e" } as unknown as TraceEntry;
    expect(traceAsTest("x", [odd], new Map())).toBeNull();
    expect(traceLines([odd])[0]).toBe(`  1  ${JSON.stringify(odd)}`);
  });
});
