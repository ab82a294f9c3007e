import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/syntax/index.js";
import { pos, where } from "./helpers.js";

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

describe("nesting limit (P103)", () => {
  it("10,000 nested parentheses: P103 at the 65th, no stack overflow, the next rule kept", () => {
    const source = `rule r: allow x when ${"(".repeat(10_000)}context.a == 1${")".repeat(10_000)}\nrule s: deny y`;
    const { ast, diagnostics } = parsePolicy(source);
    expect(where(diagnostics)).toEqual([`1:${21 + 65} P103`]);
    expect(diagnostics[0]!.message).toBe("nesting too deep: more than 64 levels of parentheses, not and set<...>");
    expect(ast.items.map((i) => i.kind === "RuleDecl" && i.name.value)).toEqual(["s"]);
  });

  it("10,000 unclosed parentheses", () => {
    const source = `rule r: allow x when ${"(".repeat(10_000)}\nrule s: deny y`;
    const { ast, diagnostics } = parsePolicy(source);
    expect(where(diagnostics)).toEqual(["1:86 P103", "2:1 P101"]);
    expect(ast.items).toHaveLength(1);
  });

  it("10,000 nots", () => {
    const source = `rule r: allow x when ${"not ".repeat(10_000)}context.a == 1 and context.b\nrule s: deny y`;
    const { ast, diagnostics } = parsePolicy(source);
    expect(where(diagnostics)).toEqual([`1:${21 + 64 * 4 + 1} P103`]);
    expect(ast.items).toHaveLength(1);
  });

  it("10,000 nested set types", () => {
    const source = `schema { context { a: ${"set<".repeat(10_000)}string${">".repeat(10_000)} } }`;
    // At the `<` of the 65th `set<`.
    expect(where(parsePolicy(source).diagnostics)).toEqual([`1:${23 + 64 * 4 + 3} P103`]);
  });

  it("64 levels are fine, 65 are not; the limit is an option", () => {
    const nest = (n: number) => `rule r: allow x when ${"(".repeat(n)}context.a${")".repeat(n)}`;
    expect(parsePolicy(nest(64)).diagnostics).toEqual([]);
    expect(where(parsePolicy(nest(65)).diagnostics)).toEqual(["1:86 P103"]);
    expect(where(parsePolicy(nest(5), { maxDepth: 4 }).diagnostics)).toEqual(["1:26 P103"]);
    expect(parsePolicy(nest(100), { maxDepth: 100 }).diagnostics).toEqual([]);
  });

  it("a chain of and/or deeper than 16 x maxDepth is P103 too (the tree nests to the left)", () => {
    const chain = (n: number) => `rule r: allow x when ${Array.from({ length: n }, (_, i) => `context.a${i}`).join(" or ")}`;
    expect(parsePolicy(chain(1024)).diagnostics).toEqual([]);
    const ds = parsePolicy(chain(2000)).diagnostics;
    expect(where(ds)).toEqual(["1:22 P103"]);
    expect(ds[0]!.message).toBe("condition too deep: more than 1024 nested operators");
  });
});

describe("size limits (P104, L008)", () => {
  it("more AST nodes than maxNodes: P104, the items before are kept", () => {
    const source = Array.from({ length: 50 }, (_, i) => `rule r${i}: allow a.b`).join("\n");
    const { ast, diagnostics } = parsePolicy(source, { maxNodes: 100 });
    // 4 nodes a rule (RuleDecl, Name, ActionTarget, ActionPattern): the 101st is the name of r25.
    expect(where(diagnostics)).toEqual([`${pos(source, "r25")} P104`]);
    expect(diagnostics[0]!.message).toBe("policy too large: more than 100 syntax nodes");
    expect(ast.items).toHaveLength(25);
  });

  it("more tokens than maxTokens: P104 where the lexer stopped, nothing parsed", () => {
    const { ast, diagnostics } = parsePolicy("rule r: allow a.b.c.d.e\nrule s: deny y", { maxTokens: 5 });
    expect(where(diagnostics)).toEqual(["1:17 P104"]);
    expect(diagnostics[0]!.message).toBe("policy too large: more than 5 tokens");
    expect(ast.items).toEqual([]);
  });

  it("a 16 MB file of one token repeated stops at the token limit", () => {
    const { diagnostics } = parsePolicy("(".repeat(16 * 1024 * 1024 - 1), { maxTokens: 1_000_000 });
    expect(where(diagnostics)).toEqual(["1:1000002 P104"]);
  });

  it("a flood of one unknown character is one L003, and stops the lexer", () => {
    const { diagnostics } = parsePolicy("rule r: allow x\n" + "%".repeat(1_000_000) + "\nrule s: deny y");
    expect(where(diagnostics)).toEqual(["2:1 L003", "2:65537 P108"]);
  });

  it("a source just under the size limit is parsed; over it, L008", () => {
    expect(parsePolicy("rule r: allow x", { maxSourceLength: 15 }).diagnostics).toEqual([]);
    expect(where(parsePolicy("rule r: allow xy", { maxSourceLength: 15 }).diagnostics)).toEqual(["1:1 L008"]);
  });
});

describe("error limit", () => {
  it("at most 100 diagnostics, the last one P108", () => {
    const source = "rule r: allow x #\n".repeat(500);
    const { diagnostics } = parsePolicy(source);
    expect(diagnostics).toHaveLength(100);
    expect(where(diagnostics.slice(0, 2))).toEqual(["1:17 L003", "2:17 L003"]);
    expect(diagnostics[99]!.code).toBe("P108");
    expect(diagnostics[99]!.message).toBe("too many errors; stopped after 99");
    expect(where(diagnostics.slice(98))).toEqual(["99:17 L003", "100:17 P108"]);
  });

  it("parse errors are limited too, and the limit is an option", () => {
    const source = "rule : allow x\n".repeat(500);
    const { diagnostics } = parsePolicy(source, { maxErrors: 10 });
    expect(where(diagnostics)).toEqual([...Array.from({ length: 9 }, (_, i) => `${i + 1}:6 P102`), "10:6 P108"]);
  });

  it("exactly maxErrors errors are all reported", () => {
    const { diagnostics } = parsePolicy("rule : allow x\n".repeat(10), { maxErrors: 10 });
    expect(diagnostics.map((d) => d.code)).toEqual(Array(10).fill("P102"));
  });
});

describe("hostile input", () => {
  it("10 MB of random bytes (as latin1): diagnostics, no throw, and the lexer stops at the error limit", () => {
    const next = random(42);
    const bytes = new Uint8Array(10 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
    const source = Buffer.from(bytes).toString("latin1");
    const { ast, diagnostics } = parsePolicy(source);
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics.length).toBeLessThanOrEqual(100);
    expect(diagnostics[diagnostics.length - 1]!.code).toBe("P108");
    expect(ast.kind).toBe("PolicyFile");
  });

  it("10 MB of random printable ASCII (no control characters): the lexer stops at the error limit", () => {
    const next = random(7);
    const bytes = new Uint8Array(10 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = 0x20 + Math.floor(next() * 95);
    const source = Buffer.from(bytes).toString("latin1");
    const { diagnostics } = parsePolicy(source);
    expect(diagnostics).toHaveLength(100);
    expect(diagnostics[99]!.code).toBe("P108");
  });

  it("1 MB of valid tokens in random order: parse errors up to the limit", () => {
    const next = random(3);
    const words = ["rule", "r", ":", "allow", "x", ".", "(", ")", "when", "not", "and", "{", "}", "[", "]", '"s"', "1", "5m", "->", ",", "by", "session"];
    const parts: string[] = [];
    for (let n = 0; n < 200_000; n++) parts.push(words[Math.floor(next() * words.length)]!);
    const { diagnostics } = parsePolicy(parts.join(" "));
    expect(diagnostics.length).toBeLessThanOrEqual(100);
  });
});
