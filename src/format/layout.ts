import type { Comment } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";

/** The column budget. Lines may run over only where nothing can be broken (a long string, a call). */
export const WIDTH = 100;
export const INDENT = "  ";

/** One unit in a list of lines (an item, a field, a clause, a test step), with its comments. */
export interface Entry {
  /** The unit's printed lines, already indented. */
  readonly lines: readonly string[];
  readonly span: Pick<Span, "line" | "endLine">;
  readonly leading: readonly Comment[];
  readonly trailing: readonly Comment[];
  /** A blank line goes before this entry (and its leading comments) whatever the source had. */
  readonly blankBefore?: boolean;
}

export interface ListOptions {
  readonly indent: string;
  /** Keep one blank line where the source had one or more between two entries or comments. */
  readonly keepBlankLines: boolean;
  /** Comments after the last entry (before a `}` or at the end of the file). */
  readonly dangling?: readonly Comment[];
}

/**
 * Entries one after another: each preceded by its leading comments on their own lines and followed
 * on its last line by its trailing comments. Blank lines are kept (at most one) where the source
 * had them, which needs real spans: an AST built in code gets none but the forced ones.
 */
export function printList(entries: readonly Entry[], options: ListOptions): string[] {
  const out: string[] = [];
  let prevEnd: number | null = null;
  const gapBefore = (line: number) => options.keepBlankLines && prevEnd !== null && line - prevEnd >= 2;
  // Comments that cannot share the line they trailed (see `splitTrailing`) lead the next entry.
  let carried: readonly Comment[] = [];
  for (const entry of entries) {
    const leading = [...carried, ...entry.leading];
    const firstLine = leading[0]?.span.line ?? entry.span.line;
    if (out.length > 0 && (entry.blankBefore || gapBefore(firstLine))) out.push("");
    for (const c of leading) {
      if (prevEnd !== null && c !== leading[0] && gapBefore(c.span.line)) out.push("");
      out.push(options.indent + commentText(c));
      prevEnd = c.span.endLine;
    }
    if (leading.length > 0 && gapBefore(entry.span.line)) out.push("");
    const lines = [...entry.lines];
    const [trailing, rest] = splitTrailing(entry.trailing);
    if (trailing.length > 0 && lines.length > 0) {
      lines[lines.length - 1] += " " + trailing.map(commentText).join(" ");
    }
    carried = rest;
    out.push(...lines);
    prevEnd = Math.max(entry.span.endLine, ...trailing.map((c) => c.span.endLine));
  }
  for (const c of [...carried, ...(options.dangling ?? [])]) {
    if (gapBefore(c.span.line)) out.push("");
    out.push(options.indent + commentText(c));
    prevEnd = c.span.endLine;
  }
  return out;
}

/**
 * Trailing comments up to the first line comment, and the ones after it. Several comments trail one
 * line only when a lone carriage return ends a line comment (the lexer ends lines at `\n` alone);
 * written on one line they would merge into one comment.
 */
function splitTrailing(trailing: readonly Comment[]): [readonly Comment[], readonly Comment[]] {
  const i = trailing.findIndex((c) => c.text.startsWith("//"));
  return i < 0 ? [trailing, []] : [trailing.slice(0, i + 1), trailing.slice(i + 1)];
}

/**
 * A comment as written, without trailing blanks. The continuation lines of a block comment are
 * kept verbatim: re-indenting them could change what the author aligned.
 */
export function commentText(c: Comment): string {
  return c.text
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}

/** Items joined with `sep`, wrapped onto continuation lines (`contIndent`) past the width. */
export function fill(first: string, items: readonly string[], sep: string, contIndent: string, tail = ""): string[] {
  const lines: string[] = [];
  let line = first;
  items.forEach((item, i) => {
    const piece = item + (i < items.length - 1 ? sep.trimEnd() : tail);
    if (i > 0 && line.length + 1 + piece.length > WIDTH && line.trim().length > 0) {
      lines.push(line);
      line = contIndent + piece;
    } else {
      line += (i > 0 ? " " : "") + piece;
    }
  });
  lines.push(line);
  return lines;
}
