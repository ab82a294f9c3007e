import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPolicy } from "../../src/check/check.js";
import { lintPolicy } from "../../src/check/lints.js";
import { compilePolicy } from "../../src/compile/compile.js";
import { CODES } from "../../src/diagnostics/codes.js";

/**
 * test/fixtures/lints/<code>/bad.rules triggers the lint at the positions its `// expect: CODE L:C`
 * comments list (and nothing else); good.rules is the corrected policy and has no warning at all.
 */
const root = join(__dirname, "..", "fixtures", "lints");
const codes = readdirSync(root).filter((d) => /^W4\d\d$/.test(d)).sort();

function lint(file: string) {
  const source = readFileSync(join(root, file), "utf8");
  const compiled = compilePolicy(source, { file });
  const errors = compiled.diagnostics.filter((d) => d.severity === "error");
  const warnings = lintPolicy(compiled.ast, checkPolicy(compiled.ast).schema);
  return { source, errors, warnings };
}

describe("lint fixtures", () => {
  it("every W4xx code in the catalog has a fixture folder, and every folder a code", () => {
    expect(codes).toEqual(Object.keys(CODES).filter((c) => c.startsWith("W")).sort());
  });
  for (const code of codes) {
    it(`${code} bad.rules: warns at the expected positions`, () => {
      const { source, errors, warnings } = lint(`${code}/bad.rules`);
      expect(errors).toEqual([]);
      const expected = [...source.matchAll(/\/\/ expect: (W\d{3}) (\d+):(\d+)/g)].map((m) => `${m[1]} ${m[2]}:${m[3]}`);
      expect(expected.some((e) => e.startsWith(code))).toBe(true);
      const got = warnings.map((d) => `${d.code} ${d.span.line}:${d.span.column}`);
      expect(got.sort()).toEqual(expected.sort());
      for (const d of warnings) {
        expect(d.severity).toBe("warning");
        expect(d.message.length).toBeGreaterThan(0);
        expect(d.help?.length ?? 0).toBeGreaterThan(0);
      }
    });
    it(`${code} good.rules: no warning`, () => {
      const { errors, warnings } = lint(`${code}/good.rules`);
      expect(errors).toEqual([]);
      expect(warnings.map((d) => `${d.code} ${d.span.line}:${d.span.column} ${d.message}`)).toEqual([]);
    });
  }
});
