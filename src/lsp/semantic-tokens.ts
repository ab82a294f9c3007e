import type { SemanticTokens, SemanticTokensLegend } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Item } from "../ast/nodes.js";
import type { Analysis } from "./analysis.js";
import { isKeyword, type Tok } from "./lexing.js";
import type { SymbolKind } from "./symbols.js";

/**
 * Semantic tokens: what the lexer alone cannot tell a TextMate grammar — a keyword written as a
 * name (`session.revoked` is an event, `count` may be a rule name), which names are rules,
 * workflows, actions, signals, labels and attributes, and where they are declared. Names come from
 * the symbols of the AST; everything else (and any item that did not parse) from the lexer.
 */
export const TOKEN_TYPES = ["keyword", "operator", "string", "number", "comment", "function", "event", "property", "variable", "type", "enumMember", "decorator"] as const;
export const TOKEN_MODIFIERS = ["declaration", "defaultLibrary"] as const;
export const LEGEND: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

type TokenType = (typeof TOKEN_TYPES)[number];
const DECLARATION = 1;
const DEFAULT_LIBRARY = 2;

interface Classified {
  readonly offset: number;
  readonly end: number;
  readonly type: TokenType;
  readonly modifiers: number;
}

const SYMBOL_TYPE: Readonly<Record<SymbolKind, TokenType>> = {
  rule: "function",
  workflow: "function",
  action: "event",
  signal: "event",
  event: "event",
  label: "enumMember",
  attribute: "property",
};

const OPERATORS: ReadonlySet<string> = new Set(["EqEq", "NotEq", "Lt", "LtEq", "Gt", "GtEq", "Arrow", "FatArrow", "PlusEq", "Pipe", "Question", "Star", "Plus"]);
const TEMPORAL: ReadonlySet<string> = new Set(["after", "since", "gap", "count", "distinct", "rate", "regularity", "sequence", "deviates"]);
const VALUES: ReadonlySet<string> = new Set(["principal", "resource", "context", "action", "session"]);
const TYPES: ReadonlySet<string> = new Set(["string", "number", "bool", "duration", "set"]);

export function semanticTokens(doc: TextDocument, a: Analysis): SemanticTokens {
  const named: Classified[] = [];
  for (const o of a.symbols.occurrences) named.push({ offset: o.span.offset, end: o.span.endOffset, type: SYMBOL_TYPE[o.kind], modifiers: o.role === "declaration" ? DECLARATION : 0 });
  for (const p of a.symbols.patterns) named.push({ offset: p.span.offset, end: p.span.endOffset, type: "event", modifiers: 0 });
  for (const item of a.ast.items) for (const n of otherNames(item)) named.push(n);
  named.sort((x, y) => x.offset - y.offset);

  const { tokens, comments } = a.lexed;
  const out: Classified[] = [];
  let k = 0;
  for (const t of mergeByOffset(tokens, comments)) {
    while (k < named.length && named[k]!.end <= t.offset) {
      pushOnce(out, named[k]!);
      k++;
    }
    const n = named[k];
    if (n !== undefined && n.offset <= t.offset && t.end <= n.end) continue; // inside a name
    const c = classify(t);
    if (c !== null) out.push(c);
  }
  for (; k < named.length; k++) pushOnce(out, named[k]!);
  out.sort((x, y) => x.offset - y.offset);
  return { data: encode(doc, out) };
}

function pushOnce(out: Classified[], c: Classified): void {
  const prev = out[out.length - 1];
  if (prev === undefined || prev.end <= c.offset) out.push(c);
}

function mergeByOffset(a: readonly Tok[], b: readonly Tok[]): Tok[] {
  return [...a, ...b].sort((x, y) => x.offset - y.offset);
}

function classify(t: Tok): Classified | null {
  const at = (type: TokenType, modifiers = 0): Classified => ({ offset: t.offset, end: t.end, type, modifiers });
  if (t.type === "LineComment" || t.type === "BlockComment") return at("comment");
  if (t.type === "StringLiteral" || t.type === "UnterminatedString" || t.type === "ResourcePath") return at("string");
  if (t.type === "NumberLiteral" || t.type === "DurationLiteral" || t.type === "BadDuration") return at("number");
  if (OPERATORS.has(t.type)) return at("operator");
  if (isKeyword(t)) {
    if (TEMPORAL.has(t.image)) return at("function", DEFAULT_LIBRARY);
    if (VALUES.has(t.image)) return at("variable", DEFAULT_LIBRARY);
    if (TYPES.has(t.image)) return at("type", DEFAULT_LIBRARY);
    return at("keyword");
  }
  return null;
}

/** Principal kinds, action tags and obligations: names that are not symbols but have a role. */
function otherNames(item: Item): Classified[] {
  const out: Classified[] = [];
  const add = (span: { offset: number; endOffset: number }, type: TokenType) => out.push({ offset: span.offset, end: span.endOffset, type, modifiers: 0 });
  switch (item.kind) {
    case "ActionsBlock":
      for (const g of item.groups) for (const t of g.tags) add(t.span, "decorator");
      break;
    case "RuleDecl":
      for (const p of item.principals) if (p.principalKind) add(p.principalKind.span, "type");
      for (const c of item.clauses) if (c.kind === "RequireClause") add(c.obligation.span, "enumMember");
      break;
    case "PropertyDecl":
      for (const c of item.claims) for (const p of c.principals) if (p.principalKind) add(p.principalKind.span, "type");
      break;
    case "TestDecl":
      if (item.given?.principal) add(item.given.principal.kind.span, "type");
      for (const s of item.steps) {
        if (s.kind === "TestRequest") {
          if (s.principalKind) add(s.principalKind.span, "type");
        }
        else if (s.principal) add(s.principal.kind.span, "type");
      }
      break;
    default:
      break;
  }
  return out;
}

/** The protocol's relative encoding; a token over several lines becomes one token per line. */
function encode(doc: TextDocument, tokens: readonly Classified[]): number[] {
  const data: number[] = [];
  let line = 0;
  let char = 0;
  const emit = (l: number, c: number, length: number, type: number, modifiers: number) => {
    if (length <= 0) return;
    data.push(l - line, l === line ? c - char : c, length, type, modifiers);
    line = l;
    char = c;
  };
  for (const t of tokens) {
    const type = TOKEN_TYPES.indexOf(t.type);
    const start = doc.positionAt(t.offset);
    const end = doc.positionAt(t.end);
    if (start.line === end.line) {
      emit(start.line, start.character, end.character - start.character, type, t.modifiers);
      continue;
    }
    for (let l = start.line; l <= end.line; l++) {
      const from = l === start.line ? start.character : 0;
      const lineEnd = l === end.line ? end.character : doc.offsetAt({ line: l + 1, character: 0 }) - doc.offsetAt({ line: l, character: 0 });
      const text = doc.getText({ start: { line: l, character: from }, end: { line: l, character: lineEnd } }).replace(/\r?\n$/, "");
      emit(l, from, text.length, type, t.modifiers);
    }
  }
  return data;
}
