import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/syntax/index.js";
import { testPolicySource } from "../../src/testing/suite.js";
import { ROOT } from "./helpers.js";

const text = readFileSync(join(ROOT, "docs", "testing.md"), "utf8");
const blocks = [...text.matchAll(/```rules\n([\s\S]*?)```/g)].map((m) => ({ source: m[1]!, line: text.slice(0, m.index).split("\n").length + 1 }));

describe("docs/testing.md", () => {
  it("has rules blocks", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });
  for (const b of blocks) {
    it(`the rules block at line ${b.line} parses, compiles, and its tests and properties pass`, () => {
      const parsed = parsePolicy(b.source, { file: `docs/testing.md:${b.line}` });
      expect(parsed.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const r = testPolicySource(b.source, { file: `docs/testing.md:${b.line}`, seed: 1 });
      expect(r.diagnostics).toEqual([]);
      for (const t of r.tests) expect(t.ok, `${t.name}: ${t.steps.map((s) => s.message ?? "ok").join("; ")}`).toBe(true);
      for (const p of r.properties) expect(p.ok, `${p.claim}: ${p.counterexample?.message ?? p.error}`).toBe(true);
    });
  }
});
