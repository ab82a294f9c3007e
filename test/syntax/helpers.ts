import { expect } from "vitest";
import type { Item, PolicyFile } from "../../src/ast/nodes.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { parsePolicy } from "../../src/syntax/index.js";

/** `line:column CODE` for each diagnostic: what the error tests assert. */
export function where(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((d) => `${d.span.line}:${d.span.column} ${d.code}`);
}

/** Parse a source that must be valid; returns its AST. */
export function parseOk(source: string): PolicyFile {
  const { ast, diagnostics } = parsePolicy(source, { file: "t.rules" });
  expect(diagnostics.map((d) => `${d.span.line}:${d.span.column} ${d.code} ${d.message}`)).toEqual([]);
  return ast;
}

/** The only item of a valid source, narrowed to `kind`. */
export function only<K extends Item["kind"]>(source: string, kind: K): Extract<Item, { kind: K }> {
  const ast = parseOk(source);
  expect(ast.items).toHaveLength(1);
  const item = ast.items[0]!;
  expect(item.kind).toBe(kind);
  return item as Extract<Item, { kind: K }>;
}

/** The text a span covers. */
export function text(source: string, span: { offset: number; endOffset: number }): string {
  return source.slice(span.offset, span.endOffset);
}

/** `line:column` of the `nth` occurrence of `needle` in `source` (1-based, UTF-16 columns). */
export function pos(source: string, needle: string, nth = 1): string {
  let at = -1;
  for (let i = 0; i < nth; i++) {
    at = source.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`${JSON.stringify(needle)} not found ${nth} times`);
  }
  const before = source.slice(0, at);
  const line = before.split("\n").length;
  return `${line}:${at - before.lastIndexOf("\n")}`;
}
