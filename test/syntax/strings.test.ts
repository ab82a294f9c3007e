import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RuleDecl } from "../../src/ast/nodes.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { decodeString, escapeInvisible, INVISIBLE_CHARS, quoteString } from "../../src/syntax/strings.js";

const RUNS = process.env.LEASH_DEEP ? 20_000 : 500;

/** Strings rich in what must be escaped: controls, BIDI, zero-width, separators, quotes, backslashes. */
const arbNasty = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("\u0000", "\u001b", "\u007f", "\u0085", "\u00ad", "\u061c", "\u200b", "\u200d", "\u200e", "\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff", "\u{E0001}", '"', "\\", "\n", "\t", "\r", "{", "}", "u") },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 40,
});

describe("escapeInvisible", () => {
  it("leaves no invisible character and changes nothing else", () => {
    fc.assert(
      fc.property(arbNasty, (s) => {
        const e = escapeInvisible(s);
        expect([...e].some((ch) => INVISIBLE_CHARS.test(ch))).toBe(false);
        expect(e.replace(/\\u\{[0-9A-F]+\}/g, "")).toBe([...s].filter((ch) => !INVISIBLE_CHARS.test(ch)).join(""));
      }),
      { numRuns: RUNS },
    );
    expect(escapeInvisible("\u001b[31mred\u202e")).toBe("\\u{1B}[31mred\\u{202E}");
    expect(escapeInvisible("plain été 読む 😀")).toBe("plain été 読む 😀");
    expect(escapeInvisible("x\ud800")).toBe("x\\u{D800}");
  });
});

describe("quoteString", () => {
  it("writes a literal the lexer reads back as the same value, with nothing invisible in it", () => {
    fc.assert(
      fc.property(arbNasty, (s) => {
        const literal = quoteString(s);
        expect([...literal].some((ch) => INVISIBLE_CHARS.test(ch))).toBe(false);
        expect(decodeString(literal)).toBe(s);
        const { ast, diagnostics } = parsePolicy(`rule r: deny x.y reason ${literal}\n`);
        expect(diagnostics).toEqual([]);
        const clause = (ast.items[0] as RuleDecl).clauses[0]!;
        expect(clause.kind === "ReasonClause" && clause.text.value).toBe(s);
      }),
      { numRuns: RUNS },
    );
  });
  it("uses the short escapes where the grammar has them", () => {
    expect(quoteString('a"b\\c\nd\te\rf')).toBe('"a\\"b\\\\c\\nd\\te\\rf"');
    expect(quoteString("\u202etxt.exe")).toBe('"\\u{202E}txt.exe"');
  });
});
