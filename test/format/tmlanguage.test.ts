import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KEYWORDS } from "../../src/syntax/index.js";

/**
 * The TextMate grammar, checked without an Oniguruma engine: its patterns are written in the
 * common subset of Oniguruma and JavaScript regular expressions (with the `u` flag), so a small
 * tokenizer built on RegExp can run them on sample lines.
 */
interface Pattern {
  readonly include?: string;
  readonly name?: string;
  readonly match?: string;
  readonly begin?: string;
  readonly end?: string;
  readonly captures?: Record<string, { name: string }>;
  readonly patterns?: readonly Pattern[];
}
interface Grammar {
  readonly scopeName: string;
  readonly fileTypes: readonly string[];
  readonly patterns: readonly Pattern[];
  readonly repository: Record<string, { patterns: readonly Pattern[] }>;
}

const grammar = JSON.parse(readFileSync(new URL("../../grammar/rules.tmLanguage.json", import.meta.url), "utf8")) as Grammar;

function resolve(patterns: readonly Pattern[]): Pattern[] {
  return patterns.flatMap((p) => (p.include ? resolve(grammar.repository[p.include.slice(1)]!.patterns) : [p]));
}
const TOP = resolve(grammar.patterns);

interface Token {
  readonly text: string;
  readonly scope: string;
}

function firstMatch(patterns: readonly Pattern[], line: string, pos: number): { p: Pattern; m: RegExpExecArray } | null {
  let best: { p: Pattern; m: RegExpExecArray } | null = null;
  for (const p of patterns) {
    const re = new RegExp(p.match ?? p.begin!, "gdu");
    re.lastIndex = pos;
    const m = re.exec(line);
    if (m && m[0].length > 0 && (!best || m.index < best.m.index)) best = { p, m };
  }
  return best;
}

/** Tokens with a scope, in order; text that no pattern scopes is left out. */
function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let pos = 0;
  for (;;) {
    const hit = firstMatch(TOP, line, pos);
    if (!hit) return out;
    const { p, m } = hit;
    if (p.begin) {
      const end = new RegExp(p.end!, "gu");
      let from = m.index + m[0].length;
      // Skip escapes so `\"` does not end a string.
      const inner = resolve(p.patterns ?? []);
      for (;;) {
        end.lastIndex = from;
        const e = end.exec(line);
        const esc = firstMatch(inner, line, from);
        if (esc && (!e || esc.m.index < e.index)) {
          out.push({ text: esc.m[0], scope: esc.p.name! });
          from = esc.m.index + esc.m[0].length;
          continue;
        }
        const stop = e ? e.index + e[0].length : line.length;
        out.push({ text: line.slice(m.index, stop), scope: p.name! });
        pos = stop;
        break;
      }
    } else if (p.captures) {
      for (const [group, { name }] of Object.entries(p.captures)) {
        const text = m[Number(group)];
        if (text) out.push({ text, scope: name });
      }
      pos = m.index + m[0].length;
    } else {
      out.push({ text: m[0], scope: p.name! });
      pos = m.index + m[0].length;
    }
  }
}

function scopeOf(line: string, text: string): string | undefined {
  return tokenize(line).find((t) => t.text === text)?.scope;
}

describe("rules.tmLanguage.json", () => {
  it("names the language and the file type", () => {
    expect(grammar.scopeName).toBe("source.leash");
    expect(grammar.fileTypes).toEqual(["rules"]);
  });

  it("compiles every pattern as a JavaScript RegExp", () => {
    const all: Pattern[] = [];
    const walk = (ps: readonly Pattern[]) => ps.forEach((p) => (all.push(p), walk(p.patterns ?? [])));
    walk(grammar.patterns);
    Object.values(grammar.repository).forEach((r) => walk(r.patterns));
    for (const p of all) for (const src of [p.match, p.begin, p.end]) if (src) expect(() => new RegExp(src, "u")).not.toThrow();
  });

  it("highlights every keyword of the lexer", () => {
    for (const kw of KEYWORDS) {
      const scopes = [scopeOf(kw, kw), scopeOf(`${kw}(x by session)`, kw)];
      expect(scopes.some((s) => s !== undefined && /^(keyword|support|variable\.language|constant\.language)\./.test(s)), kw).toBe(true);
    }
  });

  it("scopes a rule line", () => {
    const line = 'rule no-exfil: deny email.send, http.post for agent * on repo/* when after(secret.read by session within 10m) // exfiltration';
    const toks = tokenize(line);
    const scope = (text: string) => toks.find((t) => t.text === text)?.scope;
    expect(scope("rule")).toBe("keyword.control.item.leash");
    expect(scope("no-exfil")).toBe("entity.name.function.rule.leash");
    expect(scope("deny")).toBe("keyword.other.effect.leash");
    expect(scope("email.send")).toBe("entity.name.tag.action.leash");
    expect(scope("for")).toBe("keyword.control.clause.leash");
    expect(scope("agent")).toBeUndefined();
    expect(scope("repo/*")).toBe("string.unquoted.resource-path.leash");
    expect(scope("after")).toBe("support.function.temporal.leash");
    expect(scope("secret.read")).toBe("entity.name.tag.action.leash");
    expect(scope("session")).toBe("variable.language.leash");
    expect(scope("10m")).toBe("constant.numeric.duration.leash");
    expect(scope("// exfiltration")).toBe("comment.line.double-slash.leash");
  });

  it("does not take keywords inside names or after a dot", () => {
    expect(scopeOf("rule deny-all: deny *", "deny-all")).toBe("entity.name.function.rule.leash");
    expect(scopeOf("signal session.revoked", "session.revoked")).toBe("entity.name.tag.action.leash");
    expect(tokenize("x.count").map((t) => t.scope)).toEqual(["entity.name.tag.action.leash"]);
  });

  it("scopes strings, escapes, numbers and operators", () => {
    const line = 'context.risk >= 0.9 and not principal.team in ["a\\"b", "c\\u{1F600}"] reason "x\\q"';
    const toks = tokenize(line);
    const scope = (text: string) => toks.find((t) => t.text === text)?.scope;
    expect(scope("context")).toBe("variable.language.leash");
    expect(scope(".risk")).toBe("variable.other.property.leash");
    expect(scope(">=")).toBe("keyword.operator.comparison.leash");
    expect(scope("0.9")).toBe("constant.numeric.leash");
    expect(scope("and")).toBe("keyword.operator.logical.leash");
    expect(scope("in")).toBe("keyword.operator.word.leash");
    expect(scope('\\"')).toBe("constant.character.escape.leash");
    expect(scope("\\u{1F600}")).toBe("constant.character.escape.leash");
    expect(scope('"a\\"b"')).toBe("string.quoted.double.leash");
    expect(scope("\\q")).toBe("invalid.illegal.escape.leash");
  });

  it("scopes workflows, tags, block comments and tests", () => {
    expect(scopeOf("workflow billing-export by session: a.b -> c.d* on deviation flag", "billing-export")).toBe("entity.name.function.workflow.leash");
    expect(scopeOf("workflow billing-export by session: a.b -> c.d*", "->")).toBe("keyword.operator.arrow.leash");
    expect(scopeOf("release.push, secret.rotate [high]", "high")).toBe("storage.modifier.tag.leash");
    expect(scopeOf("/* a */ rule x: allow *", "/* a */")).toBe("comment.block.leash");
    expect(scopeOf('at 5s agent "bot" build.validate repo/app => allow', "=>")).toBe("keyword.operator.arrow.leash");
    expect(scopeOf('at 5s agent "bot" build.validate repo/app => allow', "at")).toBe("keyword.control.clause.leash");
    expect(scopeOf("when deviates(billing-export)", "billing-export")).toBe("entity.name.function.workflow.leash");
    expect(scopeOf("limit 1 per session", "1")).toBe("constant.numeric.leash");
  });
});
