import type { Comment, Item, PolicyFile } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { DEFAULT_OPTIONS, parsePolicy, type ParseResult } from "../syntax/index.js";
import { isHead, splitChunks, type Chunk } from "../syntax/chunks.js";
import { spanAtOffset } from "../syntax/position.js";

export { ITEM_HEAD, isHead, splitChunks, type Chunk } from "../syntax/chunks.js";

/**
 * Incremental parsing for an editor: a document is cut into *chunks* at lines that start an item
 * (`rule NAME:`, `workflow NAME by`, `schema {`, `actions {`, `test "..." {`, `property "..." {`),
 * and a chunk whose text did not change since the last parse is not parsed again: its items are
 * reused, moved to where the chunk now starts.
 *
 * The result is always what `parsePolicy` gives for the whole text. The shortcut is taken only
 * when every chunk parses without a diagnostic: then each chunk is a sequence of whole items, no
 * item can continue past a line that starts another item (every item ends in a token after which
 * none of those keywords may follow), and the file is exactly the concatenation of the chunks'
 * items. Whenever a chunk has an error — a half-typed rule, an unterminated comment that would
 * swallow the next chunk — or a file-wide limit could be reached, the whole text is parsed again
 * with `parsePolicy`, and those diagnostics are the answer. A file with `import`, `use` or `param`
 * lines is always parsed whole: its header belongs to the file, and its parameters' values reach
 * into items of every chunk.
 */
export class IncrementalParser {
  /** Chunks of the last clean parse by their text, items with absolute spans at `base`. */
  private cache = new Map<string, CachedChunk>();

  constructor(private readonly file: string) {}

  /** Parse `text`, reusing the chunks of the previous clean parse. */
  parse(text: string): IncrementalResult {
    if (text.length >= FULL_PARSE_LENGTH) return this.full(text, null);
    const chunks = splitChunks(text);
    const misses = chunks.filter((c) => !this.cache.has(text.slice(c.offset, c.end))).length;
    // A new document, or one that changed everywhere: one parse of the whole text is cheaper.
    if (misses > MAX_MISSES && misses * 2 > chunks.length) return this.full(text, chunks);

    const next = new Map<string, CachedChunk>();
    const items: Item[] = [];
    const comments: Comment[] = [];
    let nodes = 0;
    let reparsed = 0;
    for (const c of chunks) {
      const source = text.slice(c.offset, c.end);
      let cached = this.cache.get(source) ?? next.get(source);
      if (cached === undefined) {
        const r = parsePolicy(source, { file: this.file });
        if (r.diagnostics.length > 0 || r.ast.header !== undefined) return this.full(text, chunks);
        cached = countNodes({ base: { offset: 0, line: 1 }, items: r.ast.items, comments: r.ast.comments, nodes: 0 });
        reparsed++;
      }
      const placed = place(cached, c);
      next.set(source, placed);
      items.push(...placed.items);
      comments.push(...placed.comments);
      nodes += placed.nodes;
    }
    if (nodes > DEFAULT_OPTIONS.maxNodes) return this.full(text, chunks);
    this.cache = next;
    return { ast: policyFile(text, this.file, items, comments), diagnostics: [], reparsedChunks: reparsed, chunks: chunks.length, incremental: true };
  }

  /** `parsePolicy` on the whole text; a clean result seeds the cache (unless the text is too long to chunk). */
  private full(text: string, chunks: readonly Chunk[] | null): IncrementalResult {
    const r = parsePolicy(text, { file: this.file });
    if (r.diagnostics.length === 0 && chunks !== null && r.ast.header === undefined) this.seed(text, chunks, r);
    else if (chunks === null || r.ast.header !== undefined) this.cache = new Map();
    const n = chunks?.length ?? 1;
    return { ...r, reparsedChunks: n, chunks: n, incremental: false };
  }

  private seed(text: string, chunks: readonly Chunk[], r: ParseResult): void {
    const next = new Map<string, CachedChunk>();
    let i = 0;
    let k = 0;
    for (const c of chunks) {
      const items: Item[] = [];
      const comments: Comment[] = [];
      for (; i < r.ast.items.length && r.ast.items[i]!.span.offset < c.end; i++) {
        const item = r.ast.items[i]!;
        // An item reaching into the next chunk means the split is not item-aligned: cache nothing.
        if (item.span.offset < c.offset || item.span.endOffset > c.end) {
          this.cache = new Map();
          return;
        }
        items.push(item);
      }
      for (; k < r.ast.comments.length && r.ast.comments[k]!.span.offset < c.end; k++) comments.push(r.ast.comments[k]!);
      next.set(text.slice(c.offset, c.end), countNodes({ base: { offset: c.offset, line: c.line }, items, comments, nodes: 0 }));
    }
    this.cache = next;
  }
}

export interface IncrementalResult extends ParseResult {
  /** How many chunks were parsed (all of them when the whole text was). */
  readonly reparsedChunks: number;
  readonly chunks: number;
  /** Whether unchanged chunks were reused (false: the whole text was parsed). */
  readonly incremental: boolean;
}

interface CachedChunk {
  /** Where the chunk started when its items' spans were computed. */
  readonly base: { readonly offset: number; readonly line: number };
  readonly items: readonly Item[];
  readonly comments: readonly Comment[];
  /** AST nodes in the chunk, as the parser counts them against `maxNodes`. */
  readonly nodes: number;
}

/** At or past this length the whole text is always parsed: the lexer's token limit could be reached. */
const FULL_PARSE_LENGTH = DEFAULT_OPTIONS.maxTokens;
const MAX_MISSES = 8;

/** The chunk's items and comments with spans moved to where chunk `c` starts now. */
function place(cached: CachedChunk, c: Chunk): CachedChunk {
  const dOffset = c.offset - cached.base.offset;
  const dLine = c.line - cached.base.line;
  if (dOffset === 0 && dLine === 0) return cached;
  const shift = (node: unknown) => shifted(node, dOffset, dLine);
  return {
    base: { offset: c.offset, line: c.line },
    items: cached.items.map(shift) as Item[],
    comments: cached.comments.map(shift) as Comment[],
    nodes: cached.nodes,
  };
}

/**
 * A copy of an AST part with every span moved by `dOffset` characters and `dLine` lines (columns
 * stay: chunks start at the start of a line). Spans are the properties named `span` or ending in
 * `Span`, as `stripSpans` finds them.
 */
export function shifted(node: unknown, dOffset: number, dLine: number): unknown {
  if (Array.isArray(node)) return node.map((n) => shifted(n, dOffset, dLine));
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(node)) {
    const value = (node as Record<string, unknown>)[key];
    if ((key === "span" || key.endsWith("Span")) && value !== null && typeof value === "object") {
      const s = value as Span;
      out[key] = { file: s.file, offset: s.offset + dOffset, endOffset: s.endOffset + dOffset, line: s.line + dLine, column: s.column, endLine: s.endLine + dLine, endColumn: s.endColumn };
    } else out[key] = typeof value === "object" ? shifted(value, dOffset, dLine) : value;
  }
  return out;
}

function countNodes(chunk: CachedChunk): CachedChunk {
  let n = 0;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) walk(x);
      return;
    }
    if (node === null || typeof node !== "object") return;
    if ("kind" in node) n++;
    for (const key of Object.keys(node)) if (key !== "span" && !key.endsWith("Span")) walk((node as Record<string, unknown>)[key]);
  };
  walk(chunk.items);
  walk(chunk.comments);
  return { ...chunk, nodes: n };
}

function policyFile(text: string, file: string, items: Item[], comments: Comment[]): PolicyFile {
  const end = spanAtOffset(file, text, text.length);
  const span: Span =
    text.length === 0
      ? { file, offset: 0, endOffset: 0, line: 1, column: 1, endLine: 1, endColumn: 1 }
      : { file, offset: 0, line: 1, column: 1, endOffset: text.length, endLine: end.line, endColumn: end.column };
  return { kind: "PolicyFile", span, items, comments };
}

/**
 * The chunk holding `offset`, found by scanning lines back to a head and on to the next one: the
 * item being edited, for lexing just that much (completion, hover on a keyword).
 */
export function chunkAt(text: string, offset: number): { offset: number; end: number } {
  let start = offset > 0 ? text.lastIndexOf("\n", offset - 1) + 1 : 0;
  while (start > 0 && !isHead(text, start, lineEnd(text, start))) start = start >= 2 ? text.lastIndexOf("\n", start - 2) + 1 : 0;
  let end = lineEnd(text, offset);
  while (end < text.length && !isHead(text, end, lineEnd(text, end))) end = lineEnd(text, end);
  return { offset: start, end };
}

/** The offset just after the line break ending the line at `at` (or the end of the text). */
function lineEnd(text: string, at: number): number {
  const nl = text.indexOf("\n", at);
  return nl < 0 ? text.length : nl + 1;
}
