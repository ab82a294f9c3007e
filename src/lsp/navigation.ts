import { DocumentHighlightKind, type DocumentHighlight, type Location, type Range, type TextEdit, type WorkspaceEdit } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { BUILTIN_ATTRIBUTES } from "../check/schema.js";
import { tokenMatcher } from "chevrotain";
import { tokenize } from "../syntax/index.js";
import { Dot, NameTok } from "../syntax/tokens.js";
import type { Analysis } from "./analysis.js";
import type { Occurrence, PolicySymbol } from "./symbols.js";
import { rangeOf } from "./text.js";

/**
 * Go to definition, find references, document highlights and rename, over the symbols of one
 * file (a policy is one file). A symbol without a declaration — a signal, an action in a policy
 * without an actions block — is defined where it first occurs.
 */

function symbolAt(a: Analysis, offset: number): { occurrence: Occurrence; symbol: PolicySymbol } | null {
  const occurrence = a.symbols.at(offset);
  if (occurrence === undefined) return null;
  const symbol = a.symbols.symbol(occurrence.key);
  return symbol === undefined ? null : { occurrence, symbol };
}

function location(doc: TextDocument, o: Occurrence): Location {
  return { uri: doc.uri, range: rangeOf(doc, o.span) };
}

function all(s: PolicySymbol): Occurrence[] {
  return [...s.declarations, ...s.references].sort((x, y) => x.span.offset - y.span.offset);
}

export function definition(doc: TextDocument, a: Analysis, offset: number): Location[] {
  const found = symbolAt(a, offset);
  if (found === null) return [];
  const { symbol } = found;
  if (symbol.declarations.length > 0) return symbol.declarations.map((o) => location(doc, o));
  if (isBuiltin(symbol)) return [];
  const first = all(symbol)[0];
  return first === undefined ? [] : [location(doc, first)];
}

export function references(doc: TextDocument, a: Analysis, offset: number, includeDeclaration: boolean): Location[] {
  const found = symbolAt(a, offset);
  if (found === null) return [];
  const list = includeDeclaration ? all(found.symbol) : [...found.symbol.references];
  return list.map((o) => location(doc, o));
}

export function highlights(doc: TextDocument, a: Analysis, offset: number): DocumentHighlight[] {
  const found = symbolAt(a, offset);
  if (found === null) return [];
  return all(found.symbol).map((o) => ({ range: rangeOf(doc, o.span), kind: o.role === "declaration" ? DocumentHighlightKind.Write : DocumentHighlightKind.Read }));
}

function isBuiltin(s: PolicySymbol): boolean {
  if (s.kind !== "attribute") return false;
  const [root, attr] = s.name.split(".") as [string, string];
  const builtin = BUILTIN_ATTRIBUTES[root];
  return builtin !== undefined && Object.prototype.hasOwnProperty.call(builtin, attr);
}

/** A rename that cannot be done, with the reason the client shows. */
export class RenameError extends Error {
  override readonly name = "RenameError";
}

/** The range and current text of what a rename at `offset` would change, or null: nothing to rename. */
export function prepareRename(doc: TextDocument, a: Analysis, offset: number): { range: Range; placeholder: string } | null {
  const found = symbolAt(a, offset);
  if (found === null || isBuiltin(found.symbol)) return null;
  const { occurrence, symbol } = found;
  return { range: rangeOf(doc, occurrence.span), placeholder: symbol.kind === "attribute" ? symbol.name.slice(symbol.name.indexOf(".") + 1) : symbol.name };
}

/** Every edit that renames the symbol at `offset` to `newName`; throws RenameError when it cannot be. */
export function rename(doc: TextDocument, a: Analysis, offset: number, newName: string): WorkspaceEdit | null {
  const found = symbolAt(a, offset);
  if (found === null) return null;
  const { symbol } = found;
  if (isBuiltin(symbol)) throw new RenameError(`\`${symbol.name}\` is built in: every request has it`);
  const root = symbol.kind === "attribute" ? symbol.name.slice(0, symbol.name.indexOf(".")) : "";
  const name = symbol.kind === "attribute" && newName.startsWith(`${root}.`) ? newName.slice(root.length + 1) : newName;
  const problem = invalidName(symbol, name);
  if (problem !== null) throw new RenameError(problem);
  const newFull = symbol.kind === "attribute" ? `${root}.${name}` : name;
  if (newFull === symbol.name) return { changes: { [doc.uri]: [] } };
  const clash = a.symbols.symbol(symbol.key.slice(0, symbol.key.indexOf(":") + 1) + newFull);
  if (clash !== undefined) throw new RenameError(`\`${newFull}\` is already used in this policy; renaming \`${symbol.name}\` to it would merge the two`);
  const edits: TextEdit[] = all(symbol).map((o) => ({ range: rangeOf(doc, o.span), newText: name }));
  return { changes: { [doc.uri]: edits } };
}

/** Why `name` cannot name the symbol, or null when it can. */
function invalidName(symbol: PolicySymbol, name: string): string | null {
  const dotted = symbol.kind === "action" || symbol.kind === "signal" || symbol.kind === "event";
  const what = dotted ? "a dotted name such as `ticket.read`" : "a name of letters, digits, `_` and `-`, starting with a letter";
  if (typeof name !== "string" || name.length === 0 || name.length > 256) return `the new name must be ${what}`;
  const { tokens, diagnostics } = tokenize(name);
  if (diagnostics.length > 0) return `\`${name}\` is not ${what}: ${diagnostics[0]!.message}`;
  const isName = (t: (typeof tokens)[number]) => tokenMatcher(t, NameTok);
  const contiguous = tokens.every((t, i) => i === 0 || t.startOffset === tokens[i - 1]!.endOffset! + 1) && tokens[0]?.startOffset === 0 && tokens[tokens.length - 1]!.endOffset! + 1 === name.length;
  const ok = dotted
    ? contiguous && tokens.length % 2 === 1 && tokens.every((t, i) => (i % 2 === 0 ? isName(t) : t.tokenType === Dot))
    : contiguous && tokens.length === 1 && isName(tokens[0]!);
  return ok ? null : `\`${name}\` is not ${what}`;
}
