import type { CstNode, IToken } from "chevrotain";
import type { Comment, HeaderItem, Item, ParamDecl, PolicyFile } from "../ast/nodes.js";
import { makeSpan, type Span } from "../ast/span.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { CODES } from "../diagnostics/codes.js";
import { lex } from "./lexer.js";
import { resolveOptions, type ParseOptions, type ResolvedOptions } from "./options.js";
import { depthDiagnostic, parseErrorDiagnostic } from "./parse-errors.js";
import { isStray, runParser, type ItemSink, type ParserOutput } from "./run-parser.js";
import { afterToken, lineSpan, spanAtOffset } from "./position.js";
import { DiagnosticSink } from "./sink.js";
import { splitChunks } from "./chunks.js";
import { AstBuilder, ItemError, TooManyNodes } from "./to-ast.js";
import { bindParams } from "./params.js";

export interface ParseResult {
  /** The policy; items with errors are left out, the others are complete. */
  readonly ast: PolicyFile;
  /** Sorted by position; at most `maxErrors`. Empty when the file is valid. */
  readonly diagnostics: Diagnostic[];
}

/**
 * Parse a `.rules` file. Never throws: every problem, including a bug in leash, is a diagnostic.
 * An empty file is a valid empty policy.
 */
export function parsePolicy(source: string, options?: ParseOptions): ParseResult {
  return parseWith(source, options, CHUNKING);
}

/** When a file is parsed chunk by chunk first (`parseChunked`), and about how long a chunk is. */
export interface Chunking {
  /** A source at least this long is parsed in chunks. */
  readonly from: number;
  /** A chunk ends at the first item head this many characters after its start. */
  readonly length: number;
}

const CHUNKING: Chunking = { from: 256 * 1024, length: 64 * 1024 };

/** `parsePolicy` with its chunking given (`null`: one parse of the whole text); for tests. */
export function parseWith(source: string, options: ParseOptions | undefined, chunking: Chunking | null): ParseResult {
  const opts = resolveOptions(options);
  const sink = new DiagnosticSink(opts.maxErrors);
  let items: Item[] = [];
  let header: HeaderItem[] = [];
  let comments: Comment[] = [];
  try {
    if (typeof source !== "string") throw new TypeError("source is not a string");
    const chunked = chunking !== null && source.length >= chunking.from && (options?.params?.length ?? 0) === 0 ? parseChunked(source, opts, sink, chunking.length) : null;
    ({ items, header, comments } = chunked ?? parsePhases(source, opts, sink, options));
  } catch (e) {
    sink.add(diagnostic("P109", lineSpan(opts.file, 0, 1, 1, 0), `internal parser error: ${e instanceof Error ? e.message : String(e)}`, CODES.P109.help));
    items = [];
    header = [];
  }
  const span = fileSpan(source, opts.file);
  return { ast: header.length > 0 ? { kind: "PolicyFile", span, header, items, comments } : { kind: "PolicyFile", span, items, comments }, diagnostics: sink.finish() };
}

/** The named phases, in order; each reports into the sink and the next runs unless it is full. */
function parsePhases(source: string, opts: ResolvedOptions, sink: DiagnosticSink, options: ParseOptions | undefined): { items: Item[]; header: HeaderItem[]; comments: Comment[] } {
  const empty = { items: [], header: [], comments: [] };
  // Phase 1: lexing (L0xx).
  const { tokens, comments } = lex(source, opts, sink);
  if (sink.full || tokens.length === 0) return { items: [], header: [], comments: buildComments(comments, opts) };
  const lexing = [...sink.snapshot()];
  // Phase 2: parsing (P1xx), with each clean item's AST built as soon as it is parsed.
  const collector = new ItemCollector(opts);
  const lexedAt = new Set(lexing.map((d) => d.span.offset));
  const parsed = runParser(tokens, opts.maxDepth, opts.maxErrors - sink.count + 1, collector, (offset) => lexedAt.has(offset));
  const bad = reportParseErrors(parsed, tokens, collector, opts, sink);
  if (parsed.stopped) {
    sink.overflow(spanAtOffset(opts.file, source, 0));
    return empty;
  }
  // Phase 3: keep the items without errors; a lexing error marks the item whose range holds it.
  for (const d of lexing) bad.add(itemAt(parsed.itemStarts, d.span.offset));
  for (const [i, ds] of collector.diagnostics) {
    bad.add(i);
    for (const d of ds) sink.add(d);
  }
  if (collector.tooLarge !== null) sink.add(collector.tooLarge);
  const items: Item[] = [];
  const header: HeaderItem[] = [];
  let firstItem: Item | null = null;
  collector.items.forEach((item, i) => {
    if (bad.has(i)) return;
    if (!isHeader(item)) {
      items.push(item);
      firstItem ??= item;
    } else {
      // import, use and param open the file: one after an item is reported and still taken.
      if (firstItem !== null) sink.add({ ...diagnostic("C283", item.span, `\`${headerWord(item)}\` after the first item of the file`, CODES.C283.help), related: [{ message: "the first item", span: (firstItem as Item).span }] });
      header.push(item);
    }
  });
  // Phase 4: parameters get their values (C279, C280, C282).
  const decls = header.filter((h): h is ParamDecl => h.kind === "ParamDecl");
  if (decls.length > 0 || collector.builder.paramSites.length > 0 || (options?.params?.length ?? 0) > 0) {
    const found: Diagnostic[] = [];
    bindParams(decls, collector.builder.paramSites, options?.params ?? [], found);
    for (const d of found) sink.add(d);
  }
  return { items, header, comments: collector.tooLarge ? [] : comments.map((t) => collector.builder.comment(t)) };
}

/**
 * A large file, lexed and parsed a chunk at a time (chunks.ts): the tokens of one chunk are alive
 * at a time, not those of the whole file (for 100,000 rules, about 1.2 million tokens of about
 * 200 bytes each, all promoted to the old generation before the parse is done). The shortcut is
 * taken only for a file that is clean in every chunk: then it is the concatenation of the chunks'
 * items, numbered, built and counted against `maxNodes` and `maxTokens` in the same order as in
 * one parse, so the result is what `parsePhases` gives, P104 included. Returns null — and the whole
 * file is parsed as before, for its exact diagnostics — when a chunk has any diagnostic, or the file
 * has a header or parameters, or is one chunk.
 */
function parseChunked(source: string, opts: ResolvedOptions, sink: DiagnosticSink, chunkLength: number): { items: Item[]; header: HeaderItem[]; comments: Comment[] } | null {
  if (source.length > opts.maxSourceLength) return null;
  const collector = new ItemCollector(opts);
  const commentTokens: IToken[] = [];
  let tokenCount = 0;
  let itemBase = 0;
  let clean = true;
  const items: ItemSink = {
    item: (cst, index, ok) => collector.item(cst, index + itemBase, ok),
    // Only the second pass over a stretch with errors restarts: the whole file is parsed then.
    restart: () => (clean = false),
  };
  const chunks = splitChunks(source, chunkLength);
  // One chunk is the whole text: parsing it so would only parse it twice when it fails.
  if (chunks.length < 2) return null;
  for (const chunk of chunks) {
    const local = new DiagnosticSink(opts.maxErrors);
    const text = source.slice(chunk.offset, chunk.end);
    const { tokens, comments } = lex(text, { ...opts, maxTokens: opts.maxTokens - tokenCount }, local);
    if (local.count > 0 || local.full) return null;
    tokenCount += tokens.length + comments.length;
    // Positions as in the whole file: chunks start at the start of a line, so columns stay.
    const lines = chunk.line - 1;
    for (const list of [tokens, comments]) {
      for (const t of list) {
        t.startOffset += chunk.offset;
        t.endOffset! += chunk.offset;
        t.startLine! += lines;
        t.endLine! += lines;
      }
    }
    for (const c of comments) commentTokens.push(c);
    if (tokens.length === 0) continue;
    const parsed = runParser(tokens, opts.maxDepth, opts.maxErrors + 1, items);
    if (!clean || parsed.stopped || parsed.errors.length > 0 || parsed.depthErrors.length > 0 || collector.diagnostics.size > 0) return null;
    itemBase += parsed.itemStarts.length;
  }
  const built: Item[] = [];
  for (const item of collector.items) {
    if (item === undefined) continue;
    if (isHeader(item)) return null;
    built.push(item);
  }
  if (collector.builder.paramSites.length > 0) return null;
  if (collector.tooLarge !== null) sink.add(collector.tooLarge);
  return { items: built, header: [], comments: collector.tooLarge ? [] : commentTokens.map((t) => collector.builder.comment(t)) };
}

function isHeader(item: Item | HeaderItem): item is HeaderItem {
  return item.kind === "ImportDecl" || item.kind === "UseDecl" || item.kind === "ParamDecl";
}

function headerWord(item: HeaderItem): string {
  return item.kind === "ImportDecl" ? "import" : item.kind === "UseDecl" ? "use" : "param";
}

/** Builds the AST of each clean item as the parser hands it over (see `LeashParser.onItem`). */
class ItemCollector implements ItemSink {
  builder: AstBuilder;
  /** Built items by index (sparse: items with errors are not built). */
  items: (Item | HeaderItem)[] = [];
  /** The kind of each item (`"rule"`, `"workflow"`...), for error messages. */
  kinds: string[] = [];
  /** Diagnostics found while building, by item. */
  diagnostics = new Map<number, Diagnostic[]>();
  /** P104, once the node limit is reached; nothing more is built then. */
  tooLarge: Diagnostic | null = null;

  constructor(private readonly opts: ResolvedOptions) {
    this.builder = this.newBuilder();
  }

  private newBuilder(): AstBuilder {
    return new AstBuilder(this.opts.file, this.opts.maxNodes, this.opts.maxDepth * 16);
  }

  item(cst: CstNode, index: number, clean: boolean): void {
    this.kinds[index] = Object.keys(cst.children)[0] ?? "";
    if (!clean || this.tooLarge !== null) return;
    const before = this.builder.diagnostics.length;
    try {
      this.items[index] = this.builder.item(cst);
    } catch (e) {
      if (e instanceof TooManyNodes) {
        this.tooLarge = diagnostic("P104", e.span, `policy too large: more than ${this.opts.maxNodes.toLocaleString("en")} syntax nodes`, CODES.P104.help);
      } else if (!(e instanceof ItemError)) {
        const message = `internal parser error: ${e instanceof Error ? e.message : String(e)}`;
        this.builder.diagnostics.push(diagnostic("P109", lineSpan(this.opts.file, 0, 1, 1, 0), message, CODES.P109.help));
      }
    }
    if (this.builder.diagnostics.length > before) this.diagnostics.set(index, this.builder.diagnostics.slice(before));
  }

  restart(): void {
    this.builder = this.newBuilder();
    this.items = [];
    this.kinds = [];
    this.diagnostics = new Map();
    this.tooLarge = null;
  }
}

/** chevrotain's errors as P1xx diagnostics; returns the items they hit. */
function reportParseErrors(out: ParserOutput, tokens: IToken[], collector: ItemCollector, opts: ResolvedOptions, sink: DiagnosticSink): Set<number> {
  const endOfInput = afterToken(opts.file, tokens[tokens.length - 1]!);
  const next = nextTokenFinder(tokens);
  const bad = new Set<number>();
  // A token the lexer already reported (an unterminated string, say) needs no second error; nor does
  // the end of a file whose rest an unterminated comment swallowed.
  const lexed = new Set<number>();
  let swallowed = false;
  for (const d of sink.snapshot()) {
    lexed.add(d.span.offset);
    if (d.code === "L002") swallowed = true;
  }
  // Lines between items that start no item: the parser resumes on each (see `parseStretch`), and
  // one error is reported per run of them (a run ends at the next item). A token the lexer already
  // reported does not count, so the next line of the run is reported instead.
  let strayRun = -2;
  for (const e of out.errors) {
    bad.add(e.itemIndex);
    const stray = isStray(e);
    if (stray && strayRun === e.itemIndex) continue;
    const d = parseErrorDiagnostic(e, opts.file, endOfInput, next, collector.kinds[e.itemIndex]);
    if (lexed.has(d.span.offset) || (swallowed && d.code === "P106")) continue;
    if (stray) strayRun = e.itemIndex;
    sink.add(d);
  }
  for (const d of out.depthErrors) {
    bad.add(d.itemIndex);
    sink.add(depthDiagnostic(d.token, opts.file, opts.maxDepth));
  }
  return bad;
}

function buildComments(tokens: IToken[], opts: ResolvedOptions): Comment[] {
  const builder = new AstBuilder(opts.file, opts.maxNodes, 0);
  return tokens.map((t) => builder.comment(t));
}

/** The index of the last item starting at or before `offset` (-1 before the first item). */
function itemAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function nextTokenFinder(tokens: readonly IToken[]): (t: IToken) => IToken | undefined {
  return (t) => {
    let lo = 0;
    let hi = tokens.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const o = tokens[mid]!.startOffset;
      if (o === t.startOffset) return tokens[mid + 1];
      if (o < t.startOffset) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  };
}

function fileSpan(source: string, file: string): Span {
  if (typeof source !== "string" || source.length === 0) return lineSpan(file, 0, 1, 1, 0);
  const end = spanAtOffset(file, source, source.length);
  return makeSpan(file, 0, source.length, 1, 1, end.line, end.column);
}
