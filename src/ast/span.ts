/**
 * A source location. Every AST node and every diagnostic carries one.
 * `offset`/`endOffset` are 0-based UTF-16 offsets (end exclusive); `line`/`column` are 1-based.
 */
export interface Span {
  readonly file: string;
  readonly offset: number;
  readonly endOffset: number;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

/** A span covering nothing, for synthesised nodes (never shown to users as a location of its own). */
export function syntheticSpan(file = "<synthetic>"): Span {
  return { file, offset: 0, endOffset: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
}

/** The smallest span that covers both `a` and `b` (same file assumed). */
export function joinSpans(a: Span, b: Span): Span {
  const start = a.offset <= b.offset ? a : b;
  const end = a.endOffset >= b.endOffset ? a : b;
  return {
    file: a.file,
    offset: start.offset,
    line: start.line,
    column: start.column,
    endOffset: end.endOffset,
    endLine: end.endLine,
    endColumn: end.endColumn,
  };
}
