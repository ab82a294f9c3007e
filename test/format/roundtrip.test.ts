import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PolicyFile } from "../../src/ast/nodes.js";
import { stripSpans } from "../../src/ast/strip.js";
import { formatSource, printPolicy } from "../../src/format/print.js";
import { arbPolicyAst } from "../../src/testing/arbitraries-ast.js";
import { commentTexts, meaning, parseClean } from "./helpers.js";

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

/** `text` with `// cN` at the end of some lines and `/* bN *\/` lines between some lines. */
function withComments(text: string, trailing: readonly boolean[], ownLine: readonly boolean[]): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let n = 0;
  lines.forEach((line, i) => {
    if (ownLine[i % ownLine.length]) out.push(`/* b${n++} */`);
    out.push(line.length > 0 && trailing[i % trailing.length] ? `${line} // c${n++}` : line);
  });
  return out.join("\n");
}

describe("formatSource with comments", () => {
  it("keeps every comment and the meaning, and is idempotent", () => {
    fc.assert(
      fc.property(
        arbPolicyAst(4),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        (ast: PolicyFile, trailing, ownLine) => {
          const source = withComments(printPolicy(ast), trailing, ownLine);
          const once = formatSource(source).output;
          expect(once).not.toBeNull();
          const reparsed = parseClean(once!);
          expect(meaning(reparsed)).toEqual(meaning(ast));
          expect(commentTexts(reparsed).sort()).toEqual(commentTexts(parseClean(source)).sort());
          expect(formatSource(once!).output).toBe(once);
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
