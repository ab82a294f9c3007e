import { tokenMatcher, type CstNode, type IToken } from "chevrotain";
import { Colon, Eq, Kw, LCurly, NameTok, ResourcePath, StringLiteral } from "./tokens.js";
import { leashParser, TooManyParseErrors, type DepthError, type ParseError } from "./parser.js";

/** Receives the items as they are parsed (see `LeashParser.onItem`). */
export interface ItemSink {
  /** Item `index` (in source order) was parsed; `clean` when it had no parse error so far. */
  item(cst: CstNode, index: number, clean: boolean): void;
  /** Forget every item: the tokens are parsed again from the start. */
  restart(): void;
}

/** What the parser found, items numbered in source order. */
export interface ParserOutput {
  /** Start offset of each item. */
  readonly itemStarts: number[];
  /** chevrotain's errors, each tagged with its item (index, -1 before the first). */
  readonly errors: ParseError[];
  readonly depthErrors: DepthError[];
  /** The error limit was reached: the parse stopped early. */
  readonly stopped: boolean;
}

/**
 * Parse the tokens; when that fails, parse again split at the item heads the failed items swallowed.
 *
 * Keywords are names too, so an unfinished line (`when context.`) takes the `rule` of the next line as
 * a name and the error shows up later, in the middle of the next rule. The second pass parses each
 * stretch between such heads (a line starting `rule NAME :`, `workflow NAME by`, `schema {`,
 * `actions {`, `test "..." {` or `property "..." {`) on its own, so the error is reported at the head
 * and the next item survives. Splitting only removes readings, so it never accepts what the first
 * pass rejected.
 */
export function runParser(tokens: IToken[], maxDepth: number, errorBudget: number, items: ItemSink, lexed: LexedAt = () => false): ParserOutput {
  const whole = parseStretch(tokens, 0, tokens.length, maxDepth, errorBudget, items, lexed);
  if (whole.stopped || (whole.errors.length === 0 && whole.depthErrors.length === 0)) return whole;
  const heads = swallowedHeads(tokens, whole);
  if (heads.length === 0) return whole;
  items.restart();
  const out = emptyOutput();
  const bounds = [0, ...heads, tokens.length];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const part = parseStretch(tokens, bounds[s]!, bounds[s + 1]!, maxDepth, errorBudget - out.errors.length, items, lexed, out.itemStarts.length);
    if (append(out, part, tokens[bounds[s + 1]!])) return { ...out, stopped: true };
  }
  return out;
}

/**
 * Parse `tokens[from, to)` as items. Between items, chevrotain skips from a token that starts no item
 * (`)))`, a stray string) to the next one that does, or to the end, and reports the first: one error
 * per run of stray tokens. When the lexer already reported that first token (an unterminated
 * string, say), its parse error is dropped and the rest of the run would go unreported, so a file
 * with a bad string on line 4 would hide `)))` on line 7. The skipped lines after such a token are
 * therefore parsed again on their own (only those tokens: the work stays linear).
 */
function parseStretch(tokens: IToken[], from: number, to: number, maxDepth: number, errorBudget: number, items: ItemSink, lexed: LexedAt, base = 0): ParserOutput {
  const part = parseRange(tokens, from, to, maxDepth, errorBudget, items, base);
  if (part.stopped || !part.errors.some((e) => isStray(e) && lexed(e.token.startOffset))) return part;
  const errors: ParseError[] = [];
  let stopped = false;
  part.errors.forEach((e, i) => {
    errors.push(e);
    if (stopped || !isStray(e) || !lexed(e.token.startOffset)) return;
    const at = indexOf(tokens, e.token, from, to);
    const skippedFrom = nextLineStart(tokens, at, to);
    const resumed = resumedAt(tokens, part, i, at, to);
    if (skippedFrom >= resumed) return;
    const skipped = parseStretch(tokens, skippedFrom, resumed, maxDepth, errorBudget - errors.length, items, lexed, base + part.itemStarts.length);
    for (const x of skipped.errors) errors.push(Object.assign(x, { itemIndex: e.itemIndex }));
    stopped = skipped.stopped;
  });
  return { ...part, errors, stopped };
}

/** Whether the lexer reported a problem at this offset. */
export type LexedAt = (offset: number) => boolean;

/** Where the parse went on after the stray token at `at`: the next item or error after it. */
function resumedAt(tokens: readonly IToken[], part: ParserOutput, errorIndex: number, at: number, to: number): number {
  const offset = tokens[at]!.startOffset;
  let next = Infinity;
  for (const o of part.itemStarts) if (o > offset && o < next) next = o;
  for (let j = errorIndex + 1; j < part.errors.length; j++) {
    const o = part.errors[j]!.token?.startOffset;
    if (o !== undefined && o > offset && o < next) next = o;
  }
  if (next === Infinity) return to;
  const token = { startOffset: next } as IToken;
  return indexOf(tokens, token, at, to);
}

/**
 * An error between items: at a token that starts no item, with only `policy` on the rule stack.
 * chevrotain then skips the rest of its input, so nothing after it is parsed.
 */
export function isStray(e: ParseError): boolean {
  const stack = e.context?.ruleStack ?? [];
  return stack.length <= 1 && !Number.isNaN(e.token?.startOffset);
}

function emptyOutput(): { itemStarts: number[]; errors: ParseError[]; depthErrors: DepthError[]; stopped: boolean } {
  return { itemStarts: [], errors: [], depthErrors: [], stopped: false };
}

/**
 * Adds a stretch's results to `out`, numbering its items after those already there. `head` is the
 * token after the stretch, which an error "at the end of file" of the stretch is really at. Returns
 * whether the stretch hit the error limit.
 */
function append(out: ReturnType<typeof emptyOutput>, part: ParserOutput, head: IToken | undefined): boolean {
  const base = out.itemStarts.length;
  for (const e of part.errors) {
    e.itemIndex = e.itemIndex < 0 ? base - 1 : e.itemIndex + base;
    if (head !== undefined && (e.token === undefined || Number.isNaN(e.token.startOffset))) {
      e.token = head;
      e.message = e.message.replace(/found end of file$/, `found "${head.image}"`);
    }
    out.errors.push(e);
  }
  for (const d of part.depthErrors) out.depthErrors.push({ token: d.token, itemIndex: d.itemIndex < 0 ? base - 1 : d.itemIndex + base });
  out.itemStarts.push(...part.itemStarts);
  return part.stopped;
}

/** The index of `token` in `tokens[from, to)` (by offset; `to` when it is not there). */
function indexOf(tokens: readonly IToken[], token: IToken, from: number, to: number): number {
  let lo = from;
  let hi = to - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const o = tokens[mid]!.startOffset;
    if (o === token.startOffset) return mid;
    if (o < token.startOffset) lo = mid + 1;
    else hi = mid - 1;
  }
  return to;
}

/** The first token after `i` that starts a line (`to` when there is none before it). */
function nextLineStart(tokens: readonly IToken[], i: number, to: number): number {
  for (let j = i + 1; j < to; j++) if (tokens[j]!.startLine! > tokens[j - 1]!.endLine!) return j;
  return to;
}

/** One chevrotain parse of `tokens[from, to)`; items are numbered from `base` for the sink, from 0 in the output. */
function parseRange(tokens: IToken[], from: number, to: number, maxDepth: number, errorBudget: number, items: ItemSink, base: number): ParserOutput {
  const parser = leashParser();
  parser.input = from === 0 && to === tokens.length ? tokens : tokens.slice(from, to);
  parser.maxDepth = maxDepth;
  parser.errorLimit = errorBudget;
  parser.onItem = (cst, index, clean) => items.item(cst, index + base, clean);
  let stopped = false;
  try {
    parser.policy();
  } catch (e) {
    if (!(e instanceof TooManyParseErrors)) throw e;
    stopped = true;
  } finally {
    parser.onItem = null;
  }
  const out: ParserOutput = { itemStarts: parser.itemStarts, errors: parser.errors as ParseError[], depthErrors: parser.depthErrors, stopped };
  parser.input = []; // let the tokens go
  return out;
}

const HEAD_AFTER_NAME: ReadonlyMap<unknown, unknown> = new Map([
  [Kw.rule, Colon],
  [Kw.workflow, Kw.by],
  [Kw.param, Eq],
]);

/** Token indexes of item heads at the start of a line inside items that failed to parse. */
function swallowedHeads(tokens: IToken[], parsed: ParserOutput): number[] {
  const bad = new Set<number>();
  for (const e of parsed.errors) bad.add(e.itemIndex);
  for (const d of parsed.depthErrors) bad.add(d.itemIndex);
  const starts = new Set(parsed.itemStarts);
  const heads: number[] = [];
  let item = -1;
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    while (item + 1 < parsed.itemStarts.length && parsed.itemStarts[item + 1]! <= t.startOffset) item++;
    if (!bad.has(item) || starts.has(t.startOffset) || tokens[i - 1]!.endLine! >= t.startLine!) continue;
    if (isHead(tokens, i)) heads.push(i);
  }
  return heads;
}

function isHead(tokens: IToken[], i: number): boolean {
  const type = tokens[i]!.tokenType;
  const next = tokens[i + 1];
  const after = tokens[i + 2];
  if (next === undefined) return false;
  const afterName = HEAD_AFTER_NAME.get(type);
  if (afterName !== undefined) return tokenMatcher(next, NameTok) && after?.tokenType === afterName;
  if (type === Kw.schema || type === Kw.actions) return next.tokenType === LCurly;
  if (type === Kw.test || type === Kw.property) return tokenMatcher(next, StringLiteral) && after?.tokenType === LCurly;
  if (type === Kw.import) return next.tokenType === StringLiteral;
  if (type === Kw.use) return next.tokenType === ResourcePath;
  return false;
}
