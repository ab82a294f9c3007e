import { FoldingRangeKind, type FoldingRange } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Analysis } from "./analysis.js";

/**
 * Folding: every `{ ... }` block over several lines (by the lexer, so a block whose item does not
 * parse yet still folds), every item written over several lines (a rule with its clauses, a
 * workflow), block comments over several lines and runs of line comments.
 */
export function foldingRanges(doc: TextDocument, a: Analysis): FoldingRange[] {
  const byStart = new Map<number, FoldingRange>();
  const add = (startOffset: number, endOffset: number, kind?: FoldingRangeKind) => {
    const startLine = doc.positionAt(startOffset).line;
    const endLine = doc.positionAt(endOffset).line;
    if (endLine <= startLine) return;
    const prev = byStart.get(startLine);
    if (prev && prev.endLine >= endLine) return;
    byStart.set(startLine, kind ? { startLine, endLine, kind } : { startLine, endLine });
  };
  const { tokens, comments } = a.lexed;
  const open: number[] = [];
  for (const t of tokens) {
    if (t.type === "LCurly") open.push(t.offset);
    else if (t.type === "RCurly" && open.length > 0) add(open.pop()!, t.offset);
  }
  for (const item of a.ast.items) add(item.span.offset, item.span.endOffset);
  let run: { start: number; end: number; line: number } | null = null;
  for (const c of comments) {
    if (c.type === "BlockComment") {
      add(c.offset, c.end, FoldingRangeKind.Comment);
      continue;
    }
    const line = doc.positionAt(c.offset).line;
    if (run !== null && line === run.line + 1 && c.type === "LineComment") run = { start: run.start, end: c.end, line };
    else {
      if (run !== null) add(run.start, run.end, FoldingRangeKind.Comment);
      run = { start: c.offset, end: c.end, line };
    }
  }
  if (run !== null) add(run.start, run.end, FoldingRangeKind.Comment);
  return [...byStart.values()].sort((x, y) => x.startLine - y.startLine);
}
