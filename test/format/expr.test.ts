import { describe, expect, it } from "vitest";
import type { Expr } from "../../src/ast/nodes.js";
import { syntheticSpan } from "../../src/ast/span.js";
import { breakExpr, formatExpr } from "../../src/format/expr.js";

const span = syntheticSpan();
const path = (name: string): Expr => ({ kind: "Path", span, root: "context", segments: [name] });
const num = (value: number): Expr => ({ kind: "NumberLit", span, value });
const and = (left: Expr, right: Expr): Expr => ({ kind: "BinaryExpr", span, op: "and", left, right });
const or = (left: Expr, right: Expr): Expr => ({ kind: "BinaryExpr", span, op: "or", left, right });
const not = (operand: Expr): Expr => ({ kind: "NotExpr", span, operand });
const eq = (left: Expr, right: Expr): Expr => ({ kind: "CompareExpr", span, op: "==", left, right });
const [a, b, c] = [path("a"), path("b"), path("c")];

describe("formatExpr", () => {
  it("omits parentheses that precedence makes redundant", () => {
    expect(formatExpr(or(and(a, b), c))).toBe("context.a and context.b or context.c");
    expect(formatExpr(or(or(a, b), c))).toBe("context.a or context.b or context.c");
    expect(formatExpr(not(eq(a, num(1))))).toBe("not context.a == 1");
    expect(formatExpr(and(not(a), b))).toBe("not context.a and context.b");
  });

  it("keeps the parentheses the tree needs", () => {
    expect(formatExpr(and(or(a, b), c))).toBe("(context.a or context.b) and context.c");
    expect(formatExpr(or(a, or(b, c)))).toBe("context.a or (context.b or context.c)");
    expect(formatExpr(and(a, and(b, c)))).toBe("context.a and (context.b and context.c)");
    expect(formatExpr(not(and(a, b)))).toBe("not (context.a and context.b)");
    expect(formatExpr(eq(eq(a, b), c))).toBe("(context.a == context.b) == context.c");
    expect(formatExpr(eq(not(a), b))).toBe("(not context.a) == context.b");
  });
});

describe("breakExpr", () => {
  const long = (n: string): Expr => path(n.repeat(30));
  it("breaks a chain before each operator", () => {
    const lines = breakExpr(or(and(long("a"), long("b")), long("c")), 0, 4, "  when ", "", 100);
    expect(lines).toEqual([`  when context.${"a".repeat(30)} and context.${"b".repeat(30)}`, `    or context.${"c".repeat(30)}`]);
    const deeper = breakExpr(or(and(long("a"), and(long("b"), long("e"))), long("c")), 0, 4, "  when ", "", 100);
    expect(deeper).toEqual([
      `  when context.${"a".repeat(30)}`,
      `      and (context.${"b".repeat(30)} and context.${"e".repeat(30)})`,
      `    or context.${"c".repeat(30)}`,
    ]);
  });

  it("breaks inside parentheses", () => {
    const lines = breakExpr(and(a, or(long("b"), or(long("c"), long("d")))), 0, 4, "  when ", "", 100);
    expect(lines.every((l) => l.length <= 100)).toBe(true);
    expect(lines[0]).toBe("  when context.a");
    expect(lines.join("\n")).toContain("and (context.");
    expect(lines[lines.length - 1]!.endsWith("))")).toBe(true);
  });

  it("leaves what fits on one line", () => {
    expect(breakExpr(and(a, b), 0, 4, "  when ", "", 100)).toEqual(["  when context.a and context.b"]);
  });
});
