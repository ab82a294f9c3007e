import type { Position, Range } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";

/**
 * Between leash spans (0-based UTF-16 offsets) and LSP positions (0-based lines and UTF-16
 * characters). Conversions go through offsets and the document's own line table, so `\r\n` and a
 * lone `\r` count as the client counts them.
 */

export interface OffsetRange {
  readonly offset: number;
  readonly endOffset: number;
}

export function rangeOf(doc: TextDocument, span: OffsetRange): Range {
  return { start: doc.positionAt(span.offset), end: doc.positionAt(span.endOffset) };
}

/**
 * The offset of `pos`, or null when it is not in the document (a line past the end, a character
 * past the end of its line, negative or fractional numbers): such requests get empty answers.
 */
export function offsetOf(doc: TextDocument, pos: Position | undefined): number | null {
  if (pos === undefined || pos === null || typeof pos !== "object") return null;
  const { line, character } = pos;
  if (!Number.isInteger(line) || !Number.isInteger(character) || line < 0 || character < 0 || line >= doc.lineCount) return null;
  const start = doc.offsetAt({ line, character: 0 });
  const text = doc.getText();
  const next = line + 1 < doc.lineCount ? doc.offsetAt({ line: line + 1, character: 0 }) : text.length;
  let end = next;
  if (end > start && text.charCodeAt(end - 1) === 0x0a) end--;
  if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
  return character <= end - start ? start + character : null;
}

/** The offsets of `range`, or null when either end is outside the document. */
export function offsetsOf(doc: TextDocument, range: Range | undefined): OffsetRange | null {
  if (range === undefined || range === null || typeof range !== "object") return null;
  const start = offsetOf(doc, range.start);
  const end = offsetOf(doc, range.end);
  return start === null || end === null || end < start ? null : { offset: start, endOffset: end };
}

export function overlaps(a: OffsetRange, b: OffsetRange): boolean {
  return a.offset <= b.endOffset && b.offset <= a.endOffset;
}

/**
 * The edit that turns `before` into `after` changing as little as possible: the common prefix and
 * suffix stay, so the cursor and unchanged text keep their places. The edit starts and ends at
 * word boundaries, so a fix reads as `rsk` -> `risk`, not as an inserted `i`.
 */
export function minimalEdit(before: string, after: string, at = 0): { offset: number; endOffset: number; newText: string } | null {
  if (before === after) return null;
  let p = 0;
  const max = Math.min(before.length, after.length);
  while (p < max && before.charCodeAt(p) === after.charCodeAt(p)) p++;
  while (p > 0 && WORD.test(before[p - 1]!) && ((p < before.length && WORD.test(before[p]!)) || (p < after.length && WORD.test(after[p]!)))) p--;
  if (p > 0 && isHighSurrogate(before.charCodeAt(p - 1))) p--; // never split a surrogate pair
  let s = 0;
  while (s < max - p && before.charCodeAt(before.length - 1 - s) === after.charCodeAt(after.length - 1 - s)) s++;
  const inWord = (text: string, end: number) => end > 0 && end < text.length && WORD.test(text[end - 1]!) && WORD.test(text[end]!);
  while (s > 0 && (inWord(before, before.length - s) || inWord(after, after.length - s))) s--;
  if (s > 0 && isLowSurrogate(before.charCodeAt(before.length - s))) s--;
  return { offset: at + p, endOffset: at + before.length - s, newText: after.slice(p, after.length - s) };
}

const WORD = /[\p{L}\d_-]/u;
const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
