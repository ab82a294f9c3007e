import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { THREE_ERRORS } from "./fixtures.js";
import { where } from "./helpers.js";

const parse = (source: string) => parsePolicy(source, { file: "t.rules" });
const names = (source: string) =>
  parse(source).ast.items.map((i) => ("name" in i && i.name && "value" in i.name ? i.name.value : i.kind));
const one = (source: string): Diagnostic => {
  const ds = parse(source).diagnostics;
  expect(ds).toHaveLength(1);
  return ds[0]!;
};

describe("syntax errors", () => {
  it("reports three errors on three lines with their line:column, and keeps the valid rules", () => {
    const { ast, diagnostics } = parse(THREE_ERRORS);
    expect(where(diagnostics)).toEqual(["2:12 P105", "3:6 P102", "4:38 P107"]);
    expect(diagnostics.map((d) => d.message)).toEqual([
      'expected an effect (allow, challenge, deny, revoke, flag), found "alow"',
      'missing rule name: expected a rule name, found ":"',
      'expected a key (session, principal, an attribute path such as context.ip, or several in parentheses), found "ip"',
    ]);
    expect(diagnostics.map((d) => [d.span.endLine, d.span.endColumn])).toEqual([[2, 16], [3, 7], [4, 40]]);
    expect(diagnostics.every((d) => d.severity === "error" && d.span.file === "t.rules")).toBe(true);
    expect(ast.items.map((i) => (i.kind === "RuleDecl" ? i.name.value : i.kind))).toEqual(["ok-1", "ok-2"]);
  });

  it("P101 unexpected token, with the expected thing in words", () => {
    const d = one("rule r allow x");
    expect(where([d])).toEqual(["1:8 P101"]);
    expect(d.message).toBe('expected ":", found "allow"');
  });

  it("P101 for an unknown token between items, and for an unknown entity", () => {
    expect(where(parse("rule r: allow x whn context.ip == \"a\"\nrule s: deny y").diagnostics)).toEqual(["1:17 P101"]);
    expect(one("rule r: allow x whn").message).toBe(
      'expected a clause (when, unless, reason, limit, valid, label, require, target) or a new item, found "whn"',
    );
    expect(parse("schema { princpal { a: string } }").diagnostics[0]!.message).toBe('expected "}", found "princpal"');
    expect(one("}").message).toBe('expected rule, workflow, schema, actions, signals, test or property, found "}"');
  });

  it("P102 missing rule name", () => {
    const d = one("rule : allow x");
    expect(where([d])).toEqual(["1:6 P102"]);
    expect(one("rule 5: allow x").code).toBe("P102");
  });

  it("P105 unknown effect, with a suggestion; also in workflows and tests", () => {
    const d = one("rule r: alow x.y");
    expect(where([d])).toEqual(["1:9 P105"]);
    expect(d.message).toBe('expected an effect (allow, challenge, deny, revoke, flag), found "alow"');
    expect(d.help).toMatch(/^did you mean "allow"\?/);
    expect(one("rule r: permit x").help).not.toMatch(/did you mean/);
    expect(where(parse("workflow w by session: a -> b on deviation flg").diagnostics)).toEqual(["1:44 P105"]);
    expect(where(parse('test "t" { agent "x" a.b => alow }').diagnostics)).toEqual(["1:29 P105"]);
  });

  it("P106 unexpected end of file, just after the last token", () => {
    for (const [source, at] of [
      ["rule", "1:5"],
      ["rule r:", "1:8"],
      ["rule r: allow x when\n", "1:21"],
      ['test "t" {\n  agent "x" a.b => allow\n', "2:25"],
      ["schema { principal { a: string }", "1:33"],
    ] as const) {
      const d = one(source);
      expect(`${d.span.line}:${d.span.column} ${d.code}`).toBe(`${at} P106`);
      expect(d.message).toMatch(/, found end of file$/);
    }
  });

  it("P107 invalid attribute paths", () => {
    expect(where(parse("rule r: deny x when foo.bar == 1").diagnostics)).toEqual(["1:21 P107"]);
    expect(one("rule r: deny x when foo.bar == 1").message).toBe('unknown attribute root "foo": expected principal, resource, context or action');
    expect(where(parse("rule r: deny x when context. == 1").diagnostics)).toEqual(["1:30 P107"]);
    expect(where(parse("rule r: deny x limit 1 per ip").diagnostics)).toEqual(["1:28 P107"]);
    expect(where(parse("rule r: deny x when distinct(foo.bar by session) > 1").diagnostics)).toEqual(["1:30 P107"]);
    const d = one("rule r: deny x when 5 has team");
    expect(where([d])).toEqual(["1:21 P107"]);
  });

  it("an unfinished line does not swallow the next item", () => {
    const source = "rule r: allow x when context.\nrule s: deny y\nrule t: allow x for\nrule u: allow z";
    expect(where(parse(source).diagnostics)).toEqual(["2:1 P107", "4:1 P101"]);
    expect(parse(source).diagnostics[1]!.message).toBe('expected a principal (* or a kind such as agent), found "rule"');
    expect(names(source)).toEqual(["s", "u"]);
  });

  it("recovers at the next item after any error", () => {
    const source = "rule a: deny x when (context.a == \nrule b: allow y\nworkflow w by session: a -> -> b\nschema { context { a: strng } }\nrule c: allow z";
    expect(where(parse(source).diagnostics)).toEqual(["2:1 P101", "3:29 P101", "4:23 P101"]);
    expect(names(source)).toEqual(["b", "c"]);
  });

  it("does not report a second error at a token the lexer already reported", () => {
    expect(where(parse('rule r: allow x "no end').diagnostics)).toEqual(["1:17 L001"]);
    expect(where(parse("rule r: allow /* no end").diagnostics)).toEqual(["1:15 L002"]);
  });

  it("goes on after a stray token the lexer reported: the lines it skipped are parsed too", () => {
    // Before, the parse error at the unterminated string was dropped and nothing after it was read.
    expect(where(parse('@@@\nrule a: allow x\n\n"open\n\n\n)))\n').diagnostics)).toEqual(["1:1 L003", "4:1 L001", "7:1 P101"]);
    expect(where(parse('"a\n"b\n\n)))\nrule ok: allow x\n').diagnostics)).toEqual(["1:1 L001", "2:1 L001", "4:1 P101"]);
    expect(names('"a\n)))\nrule ok: allow x\n')).toEqual(["ok"]);
  });

  it("reports one error per run of stray lines between items", () => {
    expect(where(parse("rule a: allow x\n)))\n(((\n\"x\"\nrule b: allow y\n]\n").diagnostics)).toEqual(["2:1 P101", "6:1 P101"]);
  });

  it("keywords are names where the grammar says name", () => {
    expect(names("rule count: allow session.revoked\nrule signal: deny signal.rule, signal for\nrule for: allow on.on")).toEqual(["count", "signal", "for"]);
  });
});
