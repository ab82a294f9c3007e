import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateRules } from "../../bench/parse.js";
import { printPolicy } from "../../src/format/index.js";
import { chunkAt, IncrementalParser, splitChunks } from "../../src/lsp/incremental.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { arbPolicyAst } from "../../src/testing/arbitraries-ast.js";
import { DEPTH } from "../property/harness.js";
import { applyTextEdit, arbTextEdit, EXAMPLE_TEXTS, FORMAT_FIXTURES } from "../helpers/edits.js";

/**
 * The incremental parse is an optimisation only: after any sequence of edits its AST (spans
 * included) and diagnostics are exactly those of `parsePolicy` on the whole text.
 */

const FILE = "policy.rules";
const examples = EXAMPLE_TEXTS;
const fixtures = FORMAT_FIXTURES;

/** Pieces of text edits insert: whole items, item heads, braces, comment and string openers. */
const SNIPPETS = [
  "rule a: allow x.y",
  "\nrule b: deny z.w when context.risk > 1\n",
  "\n",
  "}",
  "{",
  "/*",
  "*/",
  '"',
  " ",
  "x",
  " when ",
  "schema {",
  'test "t" {',
  "// note\n",
  "\nworkflow w by session: a -> b\n",
  ",",
  "(",
  ")",
  "rule rule: allow rule.rule",
  "\nactions { a.b [high] }\n",
];

const arbEdit = arbTextEdit(SNIPPETS);
const apply = applyTextEdit;

const arbStart = fc.oneof(
  fc.constantFrom(...examples, ...fixtures, examples.join("\n"), generateRules(60)),
  arbPolicyAst(8).map((ast) => printPolicy(ast)),
);

/** How many parses took the incremental path (the property must exercise it, not only the fallback). */
let reused = 0;

function expectSameAsFullParse(parser: IncrementalParser, text: string): void {
  const got = parser.parse(text);
  if (got.incremental) reused++;
  const full = parsePolicy(text, { file: FILE });
  expect(got.diagnostics).toEqual(full.diagnostics);
  expect(got.ast).toEqual(full.ast);
}

describe("IncrementalParser", () => {
  it("gives parsePolicy's AST and diagnostics after every edit of a sequence", () => {
    fc.assert(
      fc.property(arbStart, fc.array(arbEdit, { minLength: 1, maxLength: 12 }), (start, edits) => {
        const parser = new IncrementalParser(FILE);
        let text = start;
        expectSameAsFullParse(parser, text);
        for (const e of edits) {
          text = apply(text, e);
          expectSameAsFullParse(parser, text);
        }
      }),
      { numRuns: 60 * DEPTH },
    );
    expect(reused).toBeGreaterThan(20 * DEPTH);
  });

  it("parses a file with import, use or param lines whole, header and parameter values included", () => {
    const parser = new IncrementalParser(FILE);
    let text = "// a policy that uses the library\n\nuse leash/login\nparam burst = 10\n\nrule open: allow login.attempt\n\nrule burst: deny login.attempt\n  when count(attempted login.attempt by principal within 10s) >= $burst\n";
    expectSameAsFullParse(parser, text);
    text = `\n${text}`;
    expectSameAsFullParse(parser, text);
    // The parameter's new value reaches the unchanged rule that reads it.
    text = text.replace("param burst = 10", "param burst = 12");
    expectSameAsFullParse(parser, text);
    expect(parser.parse(text).incremental).toBe(false);
  });

  it("takes the incremental path for edits that keep the file valid, with the same result", () => {
    const before = reused;
    // Edits at item boundaries: insert a printed item before a chunk, drop a chunk, replace one.
    const arbItemText = arbPolicyAst(1).map((ast) => printPolicy(ast));
    const arbItemEdit = fc.record({ chunk: fc.double({ min: 0, max: 1, noNaN: true }), op: fc.constantFrom("insert", "remove", "replace"), item: arbItemText });
    fc.assert(
      fc.property(fc.constantFrom(...examples, generateRules(80)), fc.array(arbItemEdit, { minLength: 1, maxLength: 10 }), (start, edits) => {
        const parser = new IncrementalParser(FILE);
        let text = start;
        expectSameAsFullParse(parser, text);
        for (const e of edits) {
          const chunks = splitChunks(text);
          const c = chunks[Math.min(chunks.length - 1, Math.floor(e.chunk * chunks.length))]!;
          const item = e.item.endsWith("\n") ? e.item : `${e.item}\n`;
          if (e.op === "insert") text = text.slice(0, c.offset) + item + text.slice(c.offset);
          else if (e.op === "remove") text = text.slice(0, c.offset) + text.slice(c.end);
          else text = text.slice(0, c.offset) + item + text.slice(c.end);
          expectSameAsFullParse(parser, text);
        }
      }),
      { numRuns: 60 * DEPTH },
    );
    expect(reused - before).toBeGreaterThan(120 * DEPTH);
  });

  it("parses only the edited item of a large clean file, and reuses the items before it as they are", () => {
    const text = generateRules(2000);
    const parser = new IncrementalParser(FILE);
    const first = parser.parse(text);
    expect(first.incremental).toBe(false);
    const at = text.indexOf("within 1h) >= 3", text.length / 2);
    const edited = `${text.slice(0, at)}within 2h) >= 4${text.slice(at + "within 1h) >= 3".length)}`;
    const second = parser.parse(edited);
    expect(second.incremental).toBe(true);
    expect(second.reparsedChunks).toBe(1);
    expect(second.diagnostics).toEqual([]);
    const index = second.ast.items.findIndex((i) => i.span.endOffset > at);
    expect(second.ast.items.slice(0, index).every((item, i) => item === first.ast.items[i])).toBe(true);
    expect(second.ast).toEqual(parsePolicy(edited, { file: FILE }).ast);
  });

  it("parses the whole text when an edit leaves an error, and reuses chunks again once it is fixed", () => {
    const text = generateRules(100);
    const parser = new IncrementalParser(FILE);
    parser.parse(text);
    const broken = text.replace("allow secret.read", "allow secret.read when context.");
    const r = parser.parse(broken);
    expect(r.incremental).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toEqual(parsePolicy(broken, { file: FILE }).diagnostics.map((d) => d.code));
    expect(parser.parse(text).incremental).toBe(true);
  });

  it("is not fooled by a line that looks like an item head inside an item", () => {
    // `schema` is a principal kind here: the split at its line leaves an incomplete first chunk.
    const text = 'rule a: allow x.y for\nschema { team: "x" }\nrule b: deny x.y\n';
    const parser = new IncrementalParser(FILE);
    expectSameAsFullParse(parser, text);
    expectSameAsFullParse(parser, text.replace('"x"', '"y"'));
    expectSameAsFullParse(parser, text.replace("deny", "flag"));
  });
});

describe("splitChunks and chunkAt", () => {
  it("cover the text, each chunk starting at an item head", () => {
    const text = examples.join("\n");
    const chunks = splitChunks(text);
    expect(chunks[0]!.offset).toBe(0);
    expect(chunks[chunks.length - 1]!.end).toBe(text.length);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.offset).toBe(chunks[i - 1]!.end);
      expect(text.slice(chunks[i]!.offset)).toMatch(/^[ \t]*(rule|workflow|schema|actions|test|property)\b/);
      expect(chunks[i]!.line).toBe(text.slice(0, chunks[i]!.offset).split("\n").length);
    }
    for (const offset of [0, 1, Math.floor(text.length / 2), text.length]) {
      const c = chunkAt(text, offset);
      expect(chunks).toContainEqual(expect.objectContaining({ offset: c.offset, end: c.end }));
    }
  });

  it("handles empty lines at the very start", () => {
    expect(chunkAt("\n\nrule a: allow x.y\n", 1)).toEqual({ offset: 0, end: 2 });
    expect(chunkAt("\nx", 1)).toEqual({ offset: 0, end: 2 });
  });
});
