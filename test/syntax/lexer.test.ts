import { describe, expect, it } from "vitest";
import { parsePolicy, tokenize } from "../../src/syntax/index.js";
import { pos, where } from "./helpers.js";

const lexErrors = (source: string) => parsePolicy(source, { file: "t.rules" }).diagnostics;

describe("tokens", () => {
  it("reads keywords, names, literals and punctuation", () => {
    const { tokens, diagnostics } = tokenize('rule no-exfil: deny a.b when count(x by context.ip within 10m) >= 5 "s" -1.5 repo/* -> => += != <= ? + | [ ] { }');
    expect(diagnostics).toEqual([]);
    expect(tokens.map((t) => t.tokenType.name)).toEqual([
      "Rule", "Identifier", "Colon", "Deny", "Identifier", "Dot", "Identifier", "When", "Count", "LParen",
      "Identifier", "By", "Context", "Dot", "Identifier", "Within", "DurationLiteral", "RParen", "GtEq",
      "NumberLiteral", "StringLiteral", "NumberLiteral", "ResourcePath", "Arrow", "FatArrow", "PlusEq",
      "NotEq", "LtEq", "Question", "Plus", "Pipe", "LBracket", "RBracket", "LCurly", "RCurly",
    ]);
  });

  it("reads the longest keyword, and keywords glued to name characters as names", () => {
    const { tokens } = tokenize("allowed allow allow-x rules actions action attempted at");
    expect(tokens.map((t) => t.tokenType.name)).toEqual(["Allowed", "Allow", "Identifier", "Identifier", "Actions", "Action", "Attempted", "At"]);
  });

  it("leaves `->` out of a name: a->b is a workflow arrow", () => {
    expect(tokenize("a->b a-b").tokens.map((t) => t.image)).toEqual(["a", "->", "b", "a-b"]);
  });

  it("tracks lines and columns, with CRLF line ends", () => {
    const { tokens } = tokenize("rule a:\r\n  allow  x.y");
    const allow = tokens.find((t) => t.image === "allow")!;
    expect([allow.startLine, allow.startColumn]).toEqual([2, 3]);
  });

  it("collects line and block comments with their delimiters", () => {
    const { comments, tokens } = tokenize("// one\nrule /* two\nlines */ r: allow x // three");
    expect(comments.map((c) => c.image)).toEqual(["// one", "/* two\nlines */", "// three"]);
    expect(tokens.map((t) => t.image)).toEqual(["rule", "r", ":", "allow", "x"]);
  });

  it("reads a name starting with _ (as the error catalog says), and _ alone", () => {
    const { tokens, diagnostics } = tokenize("_internal __x _ _a-b_c context._trace _x.y repo/_tmp/*");
    expect(diagnostics).toEqual([]);
    expect(tokens.map((t) => `${t.tokenType.name} ${t.image}`)).toEqual([
      "Identifier _internal", "Identifier __x", "Identifier _", "Identifier _a-b_c", "Context context", "Dot .", "Identifier _trace",
      "Identifier _x", "Dot .", "Identifier y", "ResourcePath repo/_tmp/*",
    ]);
  });

  it("accepts a byte-order mark and letters of any single script", () => {
    expect(lexErrors("\uFEFFrule règle-été: allow 読む.書く, чтение.x")).toEqual([]);
  });
});

describe("lexing diagnostics", () => {
  it("L001 unterminated string, at the opening quote; a string does not span lines", () => {
    expect(where(lexErrors('rule r: allow x reason "no end\nrule s: deny y'))).toEqual(["1:24 L001"]);
  });

  it("L002 unterminated block comment, at /*", () => {
    expect(where(lexErrors("rule r: allow x\n  /* never closed\nrule s: deny y"))).toEqual(["2:3 L002"]);
  });

  it("L003 unexpected character, adjacent ones reported once", () => {
    const ds = lexErrors("rule r: allow x\nrule s: deny # y\nrule t: deny ;;; z");
    expect(where(ds)).toEqual(["2:14 L003", "3:14 L003"]);
    expect(ds[0]!.message).toBe('unexpected character "#"');
    expect(ds[1]!.message).toBe('unexpected characters ";;;"');
    expect(ds[1]!.span.endColumn).toBe(17);
  });

  it("L004 invalid escapes, at the backslash; valid escapes are decoded", () => {
    const ds = lexErrors('rule r: allow x reason "a\\qb \\u{110000} \\u{41"');
    expect(where(ds)).toEqual(["1:26 L004", "1:30 L004", "1:41 L004"]);
  });

  it("L005 NUL bytes, anywhere, with their position", () => {
    expect(where(lexErrors("rule r: allow x\0\nrule s: deny y // \0 in a comment\n"))).toEqual(["1:16 L005", "2:19 L005"]);
  });

  it("L005 BIDI controls (Trojan Source), even inside strings and comments", () => {
    const source = 'rule r: deny x reason "admin\u202e \u2066// check\u2069 \u2066"\n/* \u200f */ rule s: deny y';
    const ds = lexErrors(source);
    expect(where(ds)).toEqual(["1:29 L005", "1:31 L005", "1:40 L005", "1:42 L005", "2:4 L005"]);
    expect(ds[0]!.message).toBe("forbidden character U+202E (RIGHT-TO-LEFT OVERRIDE) in policy source");
    expect(ds.map((d) => `${d.span.line}:${d.span.column}`)).toEqual([
      pos(source, "\u202e"),
      pos(source, "\u2066"),
      pos(source, "\u2069"),
      pos(source, "\u2066", 2),
      pos(source, "\u200f"),
    ]);
  });

  it("L005 an unpaired surrogate in a string (no escape writes one, so fmt could not print it back)", () => {
    expect(where(lexErrors('rule r: deny x reason "a\ud800b"\n'))).toEqual(["1:25 L005"]);
    expect(lexErrors('rule r: deny x reason "a\udc00"\n')[0]!.message).toBe("unpaired surrogate U+DC00 in a string: it is half of a character");
    expect(lexErrors('rule r: deny x reason "\ud83d\ude00"\n')).toEqual([]);
  });

  it("L005 other C0 controls but not tab, CR, LF", () => {
    expect(where(lexErrors("rule r:\tallow x\r\n\x1b\x7f"))).toEqual(["2:1 L005", "2:2 L005"]);
  });

  it("L006 an identifier mixing Latin and Cyrillic, at the first letter of the other script", () => {
    const ds = lexErrors("rule r: allow p\u0430ypal.read"); // Cyrillic а
    expect(where(ds)).toEqual(["1:16 L006"]);
    expect(ds[0]!.message).toBe('"p\u0430ypal" mixes Latin and Cyrillic letters');
  });

  it("L006 also in the segments of a resource path", () => {
    expect(where(lexErrors("rule r: allow x on repo/s\u0435cret/*"))).toEqual(["1:26 L006"]);
  });

  it("L007 invalid durations: 10x, 5sec, -5s, 1.5h", () => {
    const source = "rule r: deny x when count(a by session within 10x) > 1 and since(a by session) > 5sec or gap(a by session) < -5s or 1.5h == 1";
    const ds = lexErrors(source);
    expect(where(ds)).toEqual(["1:47 L007", "1:82 L007", "1:110 L007", "1:117 L007"]);
    expect(ds.map((d) => `${d.span.line}:${d.span.column}`)).toEqual([pos(source, "10x"), pos(source, "5sec"), pos(source, "-5s"), pos(source, "1.5h")]);
    expect(ds[0]!.message).toBe('invalid duration "10x"');
  });

  it("L009 exponents and out-of-range numbers", () => {
    const source = `rule r: deny x when context.a == 1e5 or context.b == ${"9".repeat(400)}`;
    expect(where(lexErrors(source))).toEqual(["1:34 L009", "1:54 L009"]);
    expect(pos(source, "999")).toBe("1:54");
  });

  it("L008 a source over the size limit, without lexing it", () => {
    const ds = parsePolicy("rule r: allow x\n".repeat(10), { maxSourceLength: 100 }).diagnostics;
    expect(where(ds)).toEqual(["1:1 L008"]);
  });

  it("drops the item that holds a lexing error and keeps the others", () => {
    const { ast, diagnostics } = parsePolicy("rule a: allow x\nrule b: deny y when count(z by session within 10x) > 1\nrule c: allow w");
    expect(where(diagnostics)).toEqual(["2:47 L007"]);
    expect(ast.items.map((i) => (i.kind === "RuleDecl" ? i.name.value : i.kind))).toEqual(["a", "c"]);
  });
});
