import type { IToken } from "chevrotain";
import { makeSpan, type Span } from "../ast/span.js";

/** Spans from chevrotain tokens (whose end offset and end column are inclusive; ours are exclusive). */

export function tokenSpan(file: string, t: IToken): Span {
  return tokensSpan(file, t, t);
}

/** From the start of `first` to the end of `last`. */
export function tokensSpan(file: string, first: IToken, last: IToken): Span {
  return makeSpan(file, first.startOffset, last.endOffset! + 1, first.startLine!, first.startColumn!, last.endLine!, last.endColumn! + 1);
}

/** A span inside one line. */
export function lineSpan(file: string, offset: number, line: number, column: number, length: number): Span {
  return makeSpan(file, offset, offset + length, line, column, line, column + length);
}

/** An empty span just after `t` (where something is missing). */
export function afterToken(file: string, t: IToken): Span {
  const end = t.endOffset! + 1;
  return makeSpan(file, end, end, t.endLine!, t.endColumn! + 1, t.endLine!, t.endColumn! + 1);
}

/** The empty span at `offset`, with its line and column counted from the start (linear; use sparingly). */
export function spanAtOffset(file: string, source: string, offset: number): Span {
  let line = 1;
  let lineStart = 0;
  for (let nl = source.indexOf("\n"); nl !== -1 && nl < offset; nl = source.indexOf("\n", nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  const column = offset - lineStart + 1;
  return makeSpan(file, offset, offset, line, column, line, column);
}
