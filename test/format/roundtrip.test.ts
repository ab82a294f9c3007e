import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stripSpans } from "../../src/ast/strip.js";
import { formatSource, printPolicy } from "../../src/format/print.js";
import { tokenize } from "../../src/syntax/index.js";
import { arbPolicyAst } from "../../src/testing/arbitraries-ast.js";
import { ROOT, commentTexts, meaning, parseClean, rulesFiles } from "./helpers.js";

const RUNS = process.env.LEASH_DEEP ? 5000 : 300;

describe("printPolicy on random ASTs", () => {
  it("parse(print(ast)) = ast, modulo spans", () => {
    fc.assert(
      fc.property(arbPolicyAst(), (ast) => {
        const text = printPolicy(ast);
        expect(stripSpans(parseClean(text))).toEqual(stripSpans(ast));
      }),
      { numRuns: RUNS },
    );
  });

  it("prints its own output unchanged", () => {
    fc.assert(
      fc.property(arbPolicyAst(), (ast) => {
        const text = printPolicy(ast);
        expect(printPolicy(parseClean(text))).toBe(text);
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * `source` with `/* cN *\/` after some tokens (between any two tokens, inside rules, expressions
 * and blocks) and `// lN` at the end of some lines.
 */
function withComments(source: string, after: readonly number[], lineEnds: readonly boolean[]): string {
  const gaps = tokenize(source).tokens.map((t) => t.endOffset! + 1);
  const chosen = new Set(gaps.length === 0 ? [] : after.map((i) => gaps[i % gaps.length]!));
  let out = "";
  let n = 0;
  for (let i = 0; i <= source.length; i++) {
    if (chosen.has(i)) out += ` /* c${n++} */ `;
    if ((source[i] === "\n" || i === source.length) && lineEnds[i % lineEnds.length]) out += ` // l${n++}`;
    out += source[i] ?? "";
  }
  return out;
}

const fixtures = rulesFiles("test/fixtures/format").map((f) => readFileSync(join(ROOT, f), "utf8"));

describe("formatSource with comments anywhere", () => {
  it("keeps every comment and the meaning, and is idempotent", () => {
    const sources = fc.oneof(fc.constantFrom(...fixtures), arbPolicyAst(4).map(printPolicy));
    fc.assert(
      fc.property(sources, fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), (source, after, lineEnds) => {
        const text = withComments(source, after, lineEnds);
        const original = parseClean(text);
        const once = formatSource(text).output;
        expect(once).not.toBeNull();
        const reparsed = parseClean(once!);
        expect(meaning(reparsed)).toEqual(meaning(original));
        expect(commentTexts(reparsed).sort()).toEqual(commentTexts(original).sort());
        expect(formatSource(once!).output).toBe(once);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
