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

/**
 * The spans the parser and the compiler make: objects of one class whose six numbers are small
 * integers stored in the object. chevrotain's tokens keep their positions in fields that V8 holds
 * as boxed numbers (its end-of-input token is all NaN), and a span literal filled from a token
 * inherited that representation: six heap numbers of 16 bytes beside every span, most of a large
 * policy's memory. `| 0` makes each field an integer, so the class's fields stay unboxed.
 */
class SourceSpan implements Span {
  readonly file: string;
  readonly offset: number;
  readonly endOffset: number;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;

  constructor(file: string, offset: number, endOffset: number, line: number, column: number, endLine: number, endColumn: number) {
    this.file = file;
    this.offset = offset | 0;
    this.endOffset = endOffset | 0;
    this.line = line | 0;
    this.column = column | 0;
    this.endLine = endLine | 0;
    this.endColumn = endColumn | 0;
  }
}

/** A span from its parts (positions are integers: see `SourceSpan`). */
export function makeSpan(file: string, offset: number, endOffset: number, line: number, column: number, endLine: number, endColumn: number): Span {
  return new SourceSpan(file, offset, endOffset, line, column, endLine, endColumn);
}

/** A span covering nothing, for synthesised nodes (never shown to users as a location of its own). */
export function syntheticSpan(file = "<synthetic>"): Span {
  return new SourceSpan(file, 0, 0, 1, 1, 1, 1);
}

/** The smallest span that covers both `a` and `b` (same file assumed). */
export function joinSpans(a: Span, b: Span): Span {
  const start = a.offset <= b.offset ? a : b;
  const end = a.endOffset >= b.endOffset ? a : b;
  return new SourceSpan(a.file, start.offset, end.endOffset, start.line, start.column, end.endLine, end.endColumn);
}
