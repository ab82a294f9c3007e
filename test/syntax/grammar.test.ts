import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { languageGrammar, railroadHtml } from "../../grammar/railroad.js";
import { leashParser } from "../../src/syntax/index.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const squash = (s: string) => s.replace(/\s+/g, " ").trim();

/** The productions of grammar/rules.ebnf: name -> text (`name = ... ;`, whitespace squashed). */
function ebnfProductions(): Map<string, string> {
  const text = read("grammar/rules.ebnf").replace(/\(\*[\s\S]*?\*\)/g, "");
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^([a-zA-Z]+)\s*=([\s\S]*?);[ \t]*$/gm)) out.set(m[1]!, squash(`${m[1]} =${m[2]} ;`));
  return out;
}

/** Productions the lexer implements (tokens), or folded into another rule. */
const NOT_PARSER_RULES = new Set(["segment", "name", "identifier", "string", "number", "duration", "resourcePath", "pathChar", "paramRef"]);

describe("the parser follows grammar/rules.ebnf", () => {
  it("has one rule per non-lexical production, and no other", () => {
    const productions = [...ebnfProductions().keys()].filter((n) => !NOT_PARSER_RULES.has(n));
    const rules = Object.keys(leashParser().getGAstProductions());
    expect([...rules].sort()).toEqual([...productions].sort());
  });

  it("has the EBNF of each rule as the comment above it, copied exactly", () => {
    const source = read("src/syntax/parser.ts");
    const productions = ebnfProductions();
    const checked: string[] = [];
    for (const m of source.matchAll(/((?:^ {2}\/\/ .*\n)+) {2}(\w+) = this\.RULE\("(\w+)"/gm)) {
      const [, comment, field, name] = m;
      expect(field).toBe(name);
      const text = squash(comment!.replace(/^ {2}\/\/ /gm, ""));
      expect(text, name).toContain(productions.get(name!)!);
      checked.push(name!);
    }
    expect(checked).toHaveLength(productions.size - NOT_PARSER_RULES.size);
    expect([...source.matchAll(/= this\.RULE\(/g)]).toHaveLength(checked.length);
  });
});

describe("railroad diagrams", () => {
  it("leave out error productions", () => {
    expect(JSON.stringify(languageGrammar())).not.toContain("unknownEffect");
    expect(JSON.stringify(leashParser().getSerializedGastProductions())).toContain("unknownEffect");
  });

  it("docs/railroad.html is up to date (npm run railroad) and self-contained", () => {
    const html = railroadHtml();
    expect(html).not.toMatch(/<script src=|<link rel='stylesheet'/);
    expect(read("docs/railroad.html")).toBe(html);
  });
});
