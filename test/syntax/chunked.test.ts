import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateRules } from "../../bench/parse.js";
import { printPolicy } from "../../src/format/index.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { parseWith, type Chunking } from "../../src/syntax/parse.js";
import { arbPolicyAst } from "../../src/testing/arbitraries-ast.js";
import { DEPTH } from "../property/harness.js";
import { applyTextEdit, arbTextEdit, EXAMPLE_TEXTS, FORMAT_FIXTURES } from "../helpers/edits.js";

/**
 * A large file is lexed and parsed a chunk at a time (src/syntax/parse.ts, `parseChunked`). That is
 * an optimisation only: for any text, limits included, the AST (spans included) and the diagnostics
 * are exactly those of one parse of the whole text. Chunks of a few hundred characters make the
 * small texts here take the chunked path.
 */

const FILE = "policy.rules";
const WHOLE = null;
const examples = EXAMPLE_TEXTS;
const fixtures = FORMAT_FIXTURES;

/** Pieces that edits insert: whole items, item heads, braces, comment and string openers, a header line. */
const SNIPPETS = [
  "rule a: allow x.y",
  "\nrule b: deny z.w when context.risk > 1\n",
  "\n",
  "}",
  "{",
  "/*",
  "*/",
  '"',
  " when ",
  "schema {",
  'test "t" {',
  "// note\n",
  "\nworkflow w by session: a -> b\n",
  "(",
  "rule rule: allow rule.rule",
  "\nactions { a.b [high] }\n",
  "\nparam n = 3\n",
  "\u202e",
];

const arbEdit = arbTextEdit(SNIPPETS);
const apply = applyTextEdit;

const arbText = fc.tuple(
  fc.oneof(fc.constantFrom(...examples, ...fixtures, examples.join("\n"), generateRules(60)), arbPolicyAst(8).map((ast) => printPolicy(ast))),
  fc.array(arbEdit, { maxLength: 3 }),
).map(([start, edits]) => edits.reduce(apply, start));

const arbChunking: fc.Arbitrary<Chunking> = fc.record({ from: fc.constant(0), length: fc.integer({ min: 1, max: 600 }) });

function expectSameAsWhole(text: string, chunking: Chunking, options: { maxNodes?: number; maxTokens?: number; maxErrors?: number } = {}): boolean {
  const whole = parseWith(text, { file: FILE, ...options }, WHOLE);
  const chunked = parseWith(text, { file: FILE, ...options }, chunking);
  expect(chunked.diagnostics).toEqual(whole.diagnostics);
  expect(chunked.ast).toEqual(whole.ast);
  return whole.diagnostics.every((d) => d.code === "P104") && whole.ast.header === undefined;
}

describe("chunked parse", () => {
  it("gives the AST and diagnostics of one parse of the whole text, for clean and broken files", () => {
    let clean = 0;
    fc.assert(
      fc.property(arbText, arbChunking, (text, chunking) => {
        if (expectSameAsWhole(text, chunking)) clean++;
      }),
      { numRuns: 150 * DEPTH },
    );
    // Clean files take the chunked path to the end; the property must see many of them.
    expect(clean).toBeGreaterThan(30 * DEPTH);
  });

  it("reaches the node and token limits (P104) where one parse does", () => {
    const text = generateRules(300);
    for (const maxNodes of [1, 50, 1_000, 2_345]) expectSameAsWhole(text, { from: 0, length: 400 }, { maxNodes });
    for (const maxTokens of [1, 500, 3_000]) expectSameAsWhole(text, { from: 0, length: 400 }, { maxTokens });
    const limited = parseWith(text, { file: FILE, maxNodes: 1_000 }, { from: 0, length: 400 });
    expect(limited.diagnostics.map((d) => d.code)).toEqual(["P104"]);
    expect(limited.ast.items.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(arbText, arbChunking, fc.integer({ min: 1, max: 400 }), (source, chunking, maxNodes) => {
        expectSameAsWhole(source, chunking, { maxNodes });
      }),
      { numRuns: 60 * DEPTH },
    );
  });

  it("is what parsePolicy does for a large file: spans of the last rule at its line in the whole file", () => {
    const text = generateRules(6_000);
    expect(text.length).toBeGreaterThan(256 * 1024);
    const r = parsePolicy(text, { file: FILE });
    expect(r.diagnostics).toEqual([]);
    expect(r.ast).toEqual(parseWith(text, { file: FILE }, WHOLE).ast);
    const last = r.ast.items[r.ast.items.length - 1]!;
    const lines = text.split("\n");
    expect(last.span.endLine).toBe(lines.length);
    expect(last.span.endOffset).toBe(text.length);
    // An error near the end of a large file is reported as one parse reports it.
    const broken = `${text}\nrule late: allow x.y when context.`;
    const b = parsePolicy(broken, { file: FILE });
    expect(b.diagnostics.map((d) => `${d.span.line}:${d.span.column} ${d.code}`)).toEqual([`${lines.length + 1}:35 P106`]);
    expect(b).toEqual(parseWith(broken, { file: FILE }, WHOLE));
  });
});
