import { describe, expect, it } from "vitest";
import type { TestDecl, TestRequest } from "../../src/ast/nodes.js";
import { parsePolicy } from "../../src/syntax/index.js";
import type { TraceEntry } from "../../src/testing/arbitraries.js";
import { traceAsTest, traceLines } from "../../src/testing/render.js";

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
