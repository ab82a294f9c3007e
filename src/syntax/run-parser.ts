import { tokenMatcher, type CstNode, type IToken } from "chevrotain";
import { Colon, Kw, LCurly, NameTok, StringLiteral } from "./tokens.js";
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
export function runParser(tokens: IToken[], maxDepth: number, errorBudget: number, items: ItemSink): ParserOutput {
  const whole = parseRange(tokens, 0, tokens.length, maxDepth, errorBudget, items, 0);
  if (whole.stopped || (whole.errors.length === 0 && whole.depthErrors.length === 0)) return whole;
  const heads = swallowedHeads(tokens, whole);
  if (heads.length === 0) return whole;
  items.restart();
  const out: ParserOutput = { itemStarts: [], errors: [], depthErrors: [], stopped: false };
  const bounds = [0, ...heads, tokens.length];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const from = bounds[s]!;
    const to = bounds[s + 1]!;
    const base = out.itemStarts.length;
    const part = parseRange(tokens, from, to, maxDepth, errorBudget - out.errors.length, items, base);
    const head = to < tokens.length ? tokens[to]! : undefined;
    for (const e of part.errors) {
      e.itemIndex = e.itemIndex < 0 ? base - 1 : e.itemIndex + base;
      // The end of a stretch is the next head, not the end of the file.
      if (head !== undefined && (e.token === undefined || Number.isNaN(e.token.startOffset))) {
        e.token = head;
        e.message = e.message.replace(/found end of file$/, `found "${head.image}"`);
      }
      out.errors.push(e);
    }
    for (const d of part.depthErrors) out.depthErrors.push({ token: d.token, itemIndex: d.itemIndex < 0 ? base - 1 : d.itemIndex + base });
    out.itemStarts.push(...part.itemStarts);
    if (part.stopped) return { ...out, stopped: true };
  }
  return out;
}

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
  return false;
}
