import type { CstNode, IToken } from "chevrotain";
import type { Comment, Item, PolicyFile } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { CODES } from "../diagnostics/codes.js";
import { lex } from "./lexer.js";
import { resolveOptions, type ParseOptions, type ResolvedOptions } from "./options.js";
import { depthDiagnostic, parseErrorDiagnostic } from "./parse-errors.js";
import { runParser } from "./run-parser.js";
import { afterToken, lineSpan, spanAtOffset } from "./position.js";
import { DiagnosticSink } from "./sink.js";
import { AstBuilder, ItemError, TooManyNodes } from "./to-ast.js";

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
  const opts = resolveOptions(options);
  const sink = new DiagnosticSink(opts.maxErrors);
  let items: Item[] = [];
  let comments: Comment[] = [];
  try {
    if (typeof source !== "string") throw new TypeError("source is not a string");
    ({ items, comments } = parsePhases(source, opts, sink));
  } catch (e) {
    sink.add(diagnostic("P109", lineSpan(opts.file, 0, 1, 1, 0), `internal parser error: ${e instanceof Error ? e.message : String(e)}`, CODES.P109.help));
    items = [];
  }
  return { ast: { kind: "PolicyFile", span: fileSpan(source, opts.file), items, comments }, diagnostics: sink.finish() };
}

/** The named phases, in order; each reports into the sink and the next runs unless it is full. */
function parsePhases(source: string, opts: ResolvedOptions, sink: DiagnosticSink): { items: Item[]; comments: Comment[] } {
  const empty = { items: [], comments: [] };
  const { tokens, comments } = lex(source, opts, sink);
  if (sink.full || tokens.length === 0) return { items: [], comments: buildComments(comments, opts) };
  if (tokens.length > opts.maxTokens) {
    sink.add(diagnostic("P104", lineSpan(opts.file, 0, 1, 1, 0), `policy too large: ${tokens.length.toLocaleString("en")} tokens (at most ${opts.maxTokens.toLocaleString("en")})`, CODES.P104.help));
    return empty;
  }
  const lexing = [...sink.snapshot()];
  const parsed = parseTokens(tokens, source, opts, sink);
  if (parsed === null) return empty;
  return buildAst(parsed, lexing, comments, opts, sink);
}

interface Parsed {
  readonly items: readonly CstNode[];
  readonly itemStarts: readonly number[];
  /** Items (by index) that had a parse error. */
  readonly badItems: ReadonlySet<number>;
}

/** chevrotain's parse with recovery; errors become P1xx diagnostics tied to the item they hit. */
function parseTokens(tokens: IToken[], source: string, opts: ResolvedOptions, sink: DiagnosticSink): Parsed | null {
  const out = runParser(tokens, opts.maxDepth, opts.maxErrors - sink.count + 1);
  const endOfInput = afterToken(opts.file, tokens[tokens.length - 1]!);
  const next = nextTokenFinder(tokens);
  const itemKind = (i: number) => out.items[i]?.children && Object.keys(out.items[i]!.children)[0];
  const badItems = new Set<number>();
  // A token the lexer already reported (an unterminated string, say) needs no second error; nor does
  // the end of a file whose rest an unterminated comment swallowed.
  const lexed = new Set<number>();
  let swallowed = false;
  for (const d of sink.snapshot()) {
    lexed.add(d.span.offset);
    if (d.code === "L002") swallowed = true;
  }
  for (const e of out.errors) {
    badItems.add(e.itemIndex);
    const d = parseErrorDiagnostic(e, opts.file, endOfInput, next, itemKind(e.itemIndex));
    if (lexed.has(d.span.offset) || (swallowed && d.code === "P106")) continue;
    sink.add(d);
  }
  for (const d of out.depthErrors) {
    badItems.add(d.itemIndex);
    sink.add(depthDiagnostic(d.token, opts.file, opts.maxDepth));
  }
  if (out.stopped) {
    sink.overflow(spanAtOffset(opts.file, source, 0));
    return null;
  }
  return { items: out.items, itemStarts: out.itemStarts, badItems };
}

/** CST -> AST for the items without errors; lexing errors are tied to items by offset. */
function buildAst(parsed: Parsed, lexing: readonly Diagnostic[], commentTokens: IToken[], opts: ResolvedOptions, sink: DiagnosticSink): { items: Item[]; comments: Comment[] } {
  const builder = new AstBuilder(opts.file, opts.maxNodes, opts.maxDepth * 16);
  const itemCsts = parsed.items;
  const bad = new Set(parsed.badItems);
  // A lexing diagnostic marks the item whose source range holds it.
  for (const d of lexing) {
    const i = itemAt(parsed.itemStarts, d.span.offset);
    if (i >= 0) bad.add(i);
  }
  const items: Item[] = [];
  try {
    for (let i = 0; i < itemCsts.length; i++) {
      if (bad.has(i)) continue;
      try {
        items.push(builder.item(itemCsts[i]!));
      } catch (e) {
        if (!(e instanceof ItemError)) throw e;
      }
    }
    for (const d of builder.diagnostics) sink.add(d);
    return { items, comments: commentTokens.map((t) => builder.comment(t)) };
  } catch (e) {
    if (!(e instanceof TooManyNodes)) throw e;
    for (const d of builder.diagnostics) sink.add(d);
    sink.add(diagnostic("P104", e.span, `policy too large: more than ${opts.maxNodes.toLocaleString("en")} syntax nodes`, CODES.P104.help));
    return { items, comments: [] };
  }
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
  return { file, offset: 0, line: 1, column: 1, endOffset: source.length, endLine: end.line, endColumn: end.column };
}
