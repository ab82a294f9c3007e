import { KEYWORDS, tokenize, type Keyword } from "../syntax/index.js";
import { chunkAt } from "./incremental.js";

/** A token of the lexer with absolute offsets (end exclusive) and its type's name. */
export interface Tok {
  readonly image: string;
  readonly offset: number;
  readonly end: number;
  /** chevrotain's token type name: `Identifier`, `Rule`, `Dot`, `StringLiteral`, ... */
  readonly type: string;
  /** Line (1-based) as the lexer counts, relative to where lexing started. */
  readonly line: number;
}

const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

/** Whether the token is a keyword (as opposed to an identifier or a keyword used as a name). */
export function isKeyword(t: Tok): t is Tok & { image: Keyword } {
  return KEYWORD_SET.has(t.image) && t.type !== "Identifier";
}

/** The tokens of `text` from `from` to `to` (comments left out), with absolute offsets. */
export function lexRange(text: string, from: number, to: number): Tok[] {
  return lexWithComments(text, from, to).tokens;
}

/**
 * Tokens and comments of `text` from `from` to `to`, with absolute offsets; `openComment` when a
 * block comment is still open at `to`.
 */
export function lexWithComments(text: string, from: number, to: number): { tokens: Tok[]; comments: Tok[]; openComment: boolean } {
  const r = tokenize(text.slice(from, to));
  const tok = (t: (typeof r.tokens)[number]): Tok => ({ image: t.image, offset: from + t.startOffset, end: from + t.endOffset! + 1, type: t.tokenType.name, line: t.startLine! });
  return { tokens: r.tokens.map(tok), comments: r.comments.map(tok), openComment: r.diagnostics.some((d) => d.code === "L002") };
}

/** The tokens of the item around `offset`. */
export function tokensAround(text: string, offset: number): Tok[] {
  const c = chunkAt(text, offset);
  return lexRange(text, c.offset, c.end);
}

/** The token containing `offset` (or ending there), if any. */
export function tokenAt(tokens: readonly Tok[], offset: number): Tok | undefined {
  let found: Tok | undefined;
  for (const t of tokens) {
    if (t.offset > offset) break;
    if (offset < t.end) return t;
    if (offset === t.end) found = t;
  }
  return found;
}
