import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as testing from "../../src/testing/index.js";
import { ROOT } from "./helpers.js";

const DIR = join(ROOT, "src", "testing");
/** Files of the random-policy and random-AST generators, documented by their own authors. */
const GENERATORS = ["arbitraries-ast.ts", "arbitraries-policy.ts"];

describe("leash/testing entry", () => {
  it("exports the per-policy arbitraries, the assertions, the runners and the random-policy generators", () => {
    for (const name of ["arbRequest", "arbTrace", "arbContext", "arbSignal", "vocabularyOf", "expectPolicy", "runTests", "checkProperties", "testPolicySource", "diffPolicies", "arbScopePolicy", "arbSequencePolicy", "arbPolicyAst", "randomPolicies"]) {
      expect(testing, name).toHaveProperty(name);
    }
    expect(typeof testing.randomPolicies.arbTrace).toBe("function");
  });

  it("never imports vitest (it runs in any test runner)", () => {
    for (const f of readdirSync(DIR).filter((x) => x.endsWith(".ts"))) {
      expect(readFileSync(join(DIR, f), "utf8"), f).not.toMatch(/from\s+["']vitest["']|require\(["']vitest["']\)/);
    }
  });

  it("has TSDoc on every export", () => {
    const undocumented: string[] = [];
    for (const f of readdirSync(DIR).filter((x) => x.endsWith(".ts") && !GENERATORS.includes(x) && x !== "index.ts")) {
      const file = ts.createSourceFile(f, readFileSync(join(DIR, f), "utf8"), ts.ScriptTarget.ES2022, true);
      for (const st of file.statements) {
        const exported = ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
        if (!exported || ts.isExportDeclaration(st)) continue;
        if (ts.getJSDocCommentsAndTags(st).length === 0) undocumented.push(`${f}: ${st.getText().split("\n")[0]}`);
      }
    }
    expect(undocumented).toEqual([]);
  });
});
