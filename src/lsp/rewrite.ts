import { produce, type Draft } from "immer";
import type { Item, PolicyFile } from "../ast/nodes.js";
import { syntheticSpan, type Span } from "../ast/span.js";
import { printItem } from "./items.js";
import { minimalEdit, type OffsetRange } from "./text.js";

/**
 * Code actions as AST rewrites: immer's `produce` over the (readonly) AST gives a new AST that
 * shares every untouched node with the old one; only the items that changed are printed again,
 * and the text between them — other items, comments, blank lines — is left as it is. The edit of
 * a changed item is cut down to the characters that differ, so a fix in a formatted file changes
 * exactly the text it fixes.
 */

/** A text replacement by offsets. */
export interface OffsetEdit {
  readonly offset: number;
  readonly endOffset: number;
  readonly newText: string;
}

/** Keys from the file down to a node: `["items", 3, "clauses", 0, "condition", "left"]`. */
export type NodePath = readonly (string | number)[];

/**
 * The path to the first node (an object with a `kind`) that `accept`s, searching only subtrees
 * whose span holds `within`.
 */
export function findNode(root: PolicyFile, within: OffsetRange, accept: (node: { kind: string; span: Span }) => boolean): NodePath | null {
  const walk = (node: unknown, path: (string | number)[]): NodePath | null => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const found = walk(node[i], [...path, i]);
        if (found) return found;
      }
      return null;
    }
    if (node === null || typeof node !== "object") return null;
    const n = node as { kind?: unknown; span?: Span };
    if (n.span && (n.span.offset > within.offset || n.span.endOffset < within.endOffset)) return null;
    if (typeof n.kind === "string" && n.span && accept(n as { kind: string; span: Span })) return path;
    for (const key of Object.keys(node)) {
      if (key === "span" || key.endsWith("Span")) continue;
      const found = walk((node as Record<string, unknown>)[key], [...path, key]);
      if (found) return found;
    }
    return null;
  };
  return walk(root, []);
}

/** `produce` on the node at `path`. */
export function rewriteAt<T>(file: PolicyFile, path: NodePath, recipe: (node: Draft<T>) => void): PolicyFile {
  return produce(file, (draft) => {
    let node: unknown = draft;
    for (const key of path) node = (node as Record<string | number, unknown>)[key];
    recipe(node as Draft<T>);
  });
}

/** A copy of a node built elsewhere (parsed from a snippet) with every span synthetic. */
export function synthetic<T>(node: T): T {
  if (Array.isArray(node)) return node.map(synthetic) as T;
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === "span" || key.endsWith("Span") ? syntheticSpan() : synthetic(value);
  return out as T;
}

/**
 * The text edits that turn `before` (the AST of `text`) into `after`, item by item: an item kept
 * (the same object) is not touched; a changed one is printed in its place; a new one is printed on
 * a line of its own after the item before it; a removed one is deleted with its line.
 */
export function itemEdits(text: string, before: PolicyFile, after: PolicyFile): OffsetEdit[] {
  const kept = new Set<Item>(after.items);
  const old = new Set<Item>(before.items);
  const edits: OffsetEdit[] = [];
  let i = 0;
  let j = 0;
  while (i < before.items.length || j < after.items.length) {
    const a = before.items[i];
    const b = after.items[j];
    if (a !== undefined && a === b) {
      i++;
      j++;
    } else if (a !== undefined && b !== undefined && !kept.has(a) && !old.has(b)) {
      const printed = printItem(b, before.comments);
      const edit = minimalEdit(text.slice(a.span.offset, a.span.endOffset), printed, a.span.offset);
      if (edit) edits.push(edit);
      i++;
      j++;
    } else if (a !== undefined && !kept.has(a)) {
      edits.push(deletion(text, a.span));
      i++;
    } else if (b !== undefined) {
      const prev = before.items[i - 1];
      const printed = printItem(b);
      if (prev === undefined) {
        const at = a === undefined ? text.length : lineStart(text, a.span.offset);
        edits.push({ offset: at, endOffset: at, newText: a === undefined && text.length > 0 && !text.endsWith("\n") ? `\n${printed}\n` : `${printed}\n` });
      } else {
        const at = lineEndBefore(text, prev.span.endOffset);
        edits.push({ offset: at, endOffset: at, newText: `\n${printed}` });
      }
      j++;
    } else i++;
  }
  return edits;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** The end of the line holding `offset`, before its line break. */
function lineEndBefore(text: string, offset: number): number {
  const nl = text.indexOf("\n", offset);
  let end = nl < 0 ? text.length : nl;
  if (end > offset && text.charCodeAt(end - 1) === 0x0d) end--;
  return end;
}

/**
 * Deleting an item: its whole lines when it has them to itself (a comment after it on its last
 * line goes with it), and one of the blank lines around it when it stood between two.
 */
function deletion(text: string, span: Span): OffsetEdit {
  const start = lineStart(text, span.offset);
  const ownsStart = text.slice(start, span.offset).trim() === "";
  const end = lineEndBefore(text, span.endOffset);
  const rest = text.slice(span.endOffset, end).trim();
  const ownsEnd = rest === "" || rest.startsWith("//");
  if (!ownsStart || !ownsEnd) return { offset: span.offset, endOffset: ownsEnd ? end : span.endOffset, newText: "" };
  let to = end < text.length ? text.indexOf("\n", end) + 1 || text.length : text.length;
  const blankBefore = start === 0 || /^[ \t\r]*$/.test(text.slice(lineStart(text, start - 1), start - 1));
  const nextEnd = text.indexOf("\n", to);
  const blankAfter = to < text.length && /^[ \t\r]*$/.test(text.slice(to, nextEnd < 0 ? text.length : nextEnd));
  if (blankBefore && blankAfter) to = nextEnd < 0 ? text.length : nextEnd + 1;
  return { offset: start, endOffset: to, newText: "" };
}
