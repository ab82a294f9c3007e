import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PolicyFile } from "../../src/ast/nodes.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { KEYWORDS, parsePolicy } from "../../src/syntax/index.js";

const RUNS = process.env.LEASH_DEEP ? 20_000 : 300;

/** What holds for the result of any input: a policy, at most 100 diagnostics, sorted, in range. */
function checkResult(source: string, result: { ast: PolicyFile; diagnostics: Diagnostic[] }): void {
  expect(result.ast.kind).toBe("PolicyFile");
  expect(result.diagnostics.length).toBeLessThanOrEqual(100);
  let previous = -1;
  for (const d of result.diagnostics) {
    expect(d.code).toMatch(/^[LP]1?\d{2,3}$/);
    expect(d.code).not.toBe("P109"); // no internal errors
    expect(d.span.offset).toBeGreaterThanOrEqual(0);
    expect(d.span.endOffset).toBeLessThanOrEqual(source.length);
    expect(d.span.offset).toBeLessThanOrEqual(d.span.endOffset);
    expect(d.span.line).toBeGreaterThanOrEqual(1);
    expect(d.span.column).toBeGreaterThanOrEqual(1);
    expect(d.span.offset).toBeGreaterThanOrEqual(previous);
    previous = d.span.offset;
  }
  if (result.diagnostics.length === 0) {
    for (const item of result.ast.items) {
      expect(item.span.offset).toBeGreaterThanOrEqual(0);
      expect(item.span.endOffset).toBeLessThanOrEqual(source.length);
    }
  }
}

/** Pieces of source: every kind of token the lexer knows, valid and not, and trivia. */
const arbPiece: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KEYWORDS) },
  {
    weight: 5,
    arbitrary: fc.constantFrom("{", "}", "(", ")", "[", "]", ",", ":", ".", "*", "|", "?", "->", "=>", "+=", "==", "!=", "<=", ">=", "<", ">", "+"),
  },
  { weight: 3, arbitrary: fc.constantFrom("a", "x", "secret", "no-exfil", "ticket", "read", "été", "p\u0430y", "読む", "_x") },
  { weight: 2, arbitrary: fc.constantFrom("0", "1", "-1", "0.9", "10m", "300ms", "7d", "10x", "5sec", "1e5", "1.5h", "99999999999999999999d") },
  { weight: 2, arbitrary: fc.constantFrom('"s"', '""', '"a\\"b"', '"\\u{1F600}"', '"\\q"', '"\\u{D800}"', '"open', '"\\') },
  { weight: 1, arbitrary: fc.constantFrom("repo/*", "secret/billing/*", "a//b", "*/x") },
  { weight: 1, arbitrary: fc.constantFrom("// c\n", "/* c */", "/* open", "\n", "\t", "\r\n", " ") },
  { weight: 1, arbitrary: fc.constantFrom("\0", "\u202e", "\u2066", "\x1b", "#", "@", ";", "\\", "€", "\uFEFF", "\ud83d", "\ud83d\ude00") },
);

/** A token soup: pieces joined by spaces (or not), so that they are read mostly as themselves. */
const arbSoup = fc
  .array(fc.tuple(arbPiece, fc.constantFrom(" ", " ", "\n", "")), { maxLength: 80 })
  .map((parts) => parts.map(([p, sep]) => p + sep).join(""));

/** Valid rules, for sources that must parse cleanly. */
const arbRule = fc
  .tuple(
    fc.integer({ min: 0, max: 999 }),
    fc.constantFrom("allow", "challenge", "deny", "revoke", "flag"),
    fc.constantFrom("a.b", "ticket.*", "*", "signal session.revoked", "x, y.z"),
    fc.constantFrom("", ' for agent "bot"', " for *, service *", ' for human { team: "sre" }'),
    fc.constantFrom("", " on repo/*", ' on "a b/*"'),
    fc.array(
      fc.constantFrom(
        " when context.risk >= 0.9",
        " unless after(approval.granted by session within 1h)",
        " when count(attempted login.fail by context.ip within 1m) >= 5 and not (session has pii)",
        ' reason "why"',
        " limit 1 per session within 1h",
        " valid for 15m",
        " label session += pii for 10m",
        " require mfa satisfied by mfa.ok",
        " target principal",
      ),
      { maxLength: 3 },
    ),
  )
  .map(([n, effect, targets, principals, resources, clauses]) => `rule r${n}: ${effect} ${targets}${principals}${resources}${clauses.join("")}`);

describe("parsePolicy never throws", () => {
  it("on random strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (source) => {
        checkResult(source, parsePolicy(source));
      }),
      { numRuns: RUNS },
    );
  });

  it("on token soups built from the grammar's tokens", () => {
    fc.assert(
      fc.property(arbSoup, (source) => {
        checkResult(source, parsePolicy(source));
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("on valid rules with one token dropped, doubled or swapped", () => {
    fc.assert(
      fc.property(arbRule, fc.nat(), fc.constantFrom("drop", "double", "swap"), (rule, at, how) => {
        const words = rule.split(" ");
        const i = at % words.length;
        if (how === "drop") words.splice(i, 1);
        else if (how === "double") words.splice(i, 0, words[i]!);
        else [words[i], words[0]] = [words[0]!, words[i]!];
        const source = `${words.join(" ")}\nrule after: deny z`;
        checkResult(source, parsePolicy(source));
      }),
      { numRuns: RUNS },
    );
  });

  it("on non-string input", () => {
    for (const bad of [undefined, null, 42, {}, ["rule"]]) {
      const { ast, diagnostics } = parsePolicy(bad as unknown as string);
      expect(ast.items).toEqual([]);
      expect(diagnostics.map((d) => d.code)).toEqual(["P109"]);
    }
  });
});

describe("valid sources", () => {
  it("rules in any order, with comments and blank lines between, parse without errors", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbRule, fc.constantFrom("\n", "\n\n", "\n// note\n", " /* c */\n")), { maxLength: 8 }), (rules) => {
        const source = rules.map(([r, sep]) => r + sep).join("");
        const { ast, diagnostics } = parsePolicy(source);
        expect(diagnostics).toEqual([]);
        expect(ast.items).toHaveLength(rules.length);
      }),
      { numRuns: RUNS },
    );
  });

  it("parsing is deterministic", () => {
    fc.assert(
      fc.property(arbSoup, (source) => {
        expect(JSON.stringify(parsePolicy(source))).toBe(JSON.stringify(parsePolicy(source)));
      }),
      { numRuns: RUNS / 3 },
    );
  });
});
