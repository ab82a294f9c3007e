import { editDistance } from "../diagnostics/suggest.js";
import { EOF, tokenMatcher, type IParserErrorMessageProvider, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import type { Span } from "../ast/span.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { CODES, type Code } from "../diagnostics/codes.js";
import { afterToken, lineSpan, tokenSpan } from "./position.js";
import { escapeInvisible } from "./strings.js";
import { Dot, Identifier, Kw, NameTok, StringLiteral } from "./tokens.js";

/**
 * Parse errors read as "expected X, found Y": X names what the grammar wants in words (by rule), Y
 * quotes what is there. chevrotain's own wording ("Expecting: one of these possible Token
 * sequences...") never reaches users.
 */

const ITEM_START = "rule, workflow, schema, actions, signals, test or property";

/** What a `name` is called where the grammar expects one, by the rule that expects it. */
const NAME_IN_RULE: Readonly<Record<string, string>> = {
  rule: "a rule name",
  workflow: "a workflow name",
  field: "an attribute name",
  path: 'an attribute name after "."',
  attrMatch: "an attribute name",
  testField: "an attribute name",
  comparison: "an attribute name after has",
  operand: "a session label after has",
  clause: "a name",
  temporal: "a workflow name",
  actionGroup: "a tag such as high",
  principalSel: "a principal kind such as agent",
  testRequest: "a name",
  testSignal: "a principal kind such as agent",
  given: "a principal kind such as agent",
};

/** `"by"`, `a string`, `a rule name`: a token type as the thing the parser wanted. */
export function describeExpected(type: TokenType, ruleName: string): string {
  if (type === EOF) return ITEM_START;
  if (type === NameTok || type === Identifier) return NAME_IN_RULE[ruleName] ?? "a name";
  const label = type.LABEL ?? type.name;
  return label.startsWith('"') ? label : `a ${label}`;
}

/** `"alow"`, `the string "x"`, `end of file`: what the parser found. */
export function describeFound(t: IToken | undefined): string {
  if (t === undefined || t.tokenType === EOF) return "end of file";
  const image = escapeInvisible(t.image.length > 32 ? `${t.image.slice(0, 32)}...` : t.image);
  return tokenMatcher(t, StringLiteral) ? `the string ${image}` : `"${image}"`;
}

function oneOf(labels: string[]): string {
  const unique = [...new Set(labels)];
  if (unique.length <= 1) return unique[0] ?? "something else";
  return `${unique.slice(0, -1).join(", ")} or ${unique[unique.length - 1]}`;
}

export const errorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    return `expected ${describeExpected(expected, ruleName)}, found ${describeFound(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `expected ${ITEM_START}, found ${describeFound(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, customUserDescription, ruleName }) {
    const what =
      customUserDescription ??
      oneOf(expectedPathsPerAlt.flatMap((paths) => paths.map((p) => (p[0] ? describeExpected(p[0], ruleName) : "end of input"))));
    return `expected ${what}, found ${describeFound(actual[0])}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, customUserDescription, ruleName }) {
    const what = customUserDescription ?? oneOf(expectedIterationPaths.map((p) => (p[0] ? describeExpected(p[0], ruleName) : "more")));
    return `expected at least one ${what}, found ${describeFound(actual[0])}`;
  },
};

/**
 * A chevrotain error as a diagnostic with a stable code. `next` gives the token after a given one
 * (to recognise `foo.bar` as a path with an unknown root).
 */
export function parseErrorDiagnostic(
  e: IRecognitionException,
  file: string,
  endOfInput: Span,
  next: (t: IToken) => IToken | undefined,
  /** The kind of the item the error is tied to (`"rule"`, `"workflow"`...). */
  itemKind?: string,
): Diagnostic {
  const token = e.token;
  // Set on all but NotAllInputParsedException.
  const previous = (e as IRecognitionException & { previousToken?: IToken }).previousToken;
  const rule = e.context?.ruleStack?.[e.context.ruleStack.length - 1] ?? "";
  const atEof = token === undefined || token.tokenType === EOF || Number.isNaN(token.startOffset);
  let code: Code = "P101";
  let message = e.message;
  let help: string = CODES.P101.help;
  if (atEof) {
    code = "P106";
  } else if (rule === "rule" && e.name === "MismatchedTokenException" && previous?.tokenType === Kw.rule) {
    code = "P102";
    message = `missing rule name: ${message}`;
  } else if (rule === "effect") {
    code = "P105";
    const suggestion = closestEffect(token.image);
    if (suggestion !== undefined) help = `did you mean "${suggestion}"? ${CODES.P105.help}`;
  } else if (rule === "path" || rule === "root" || ((rule === "key" || rule === "keyPart") && tokenMatcher(token, NameTok))) {
    code = "P107";
  } else if ((rule === "operand" || rule === "unary") && tokenMatcher(token, NameTok)) {
    const after = next(token);
    if (after !== undefined && after.tokenType === Dot) {
      code = "P107";
      message = `unknown attribute root "${token.image}": expected principal, resource, context or action`;
    }
  }
  if (code === "P101" && (rule === "policy" || rule === "") && (itemKind === "rule" || itemKind === "workflow")) {
    // Between items, right after a rule or a workflow: it may also have continued.
    const more = itemKind === "rule" ? "a clause (when, unless, reason, limit, valid, label, require, target)" : '"->", on deviation';
    message = `expected ${more} or a new item, found ${describeFound(token)}`;
  }
  if (code !== "P101" && help === CODES.P101.help) help = CODES[code].help;
  const span = atEof ? (previous && !Number.isNaN(previous.startOffset) ? afterToken(file, previous) : endOfInput) : tokenSpan(file, token);
  return diagnostic(code, span, message, help);
}

/** P103 at the `(`, `not` or `set` that opened one level too many. */
export function depthDiagnostic(token: IToken, file: string, maxDepth: number): Diagnostic {
  const span = Number.isNaN(token.startOffset) ? lineSpan(file, 0, 1, 1, 0) : tokenSpan(file, token);
  return diagnostic("P103", span, `nesting too deep: more than ${maxDepth} levels of parentheses, not and set<...>`, CODES.P103.help);
}

const EFFECTS = ["allow", "challenge", "deny", "revoke", "flag"] as const;

/** The effect a misspelling most likely means (edit distance at most 2), if any. */
export function closestEffect(word: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  const w = word.toLowerCase();
  if (w.length > 32) return undefined;
  for (const e of EFFECTS) {
    const d = editDistance(w, e, bestDistance);
    if (d < bestDistance) {
      best = e;
      bestDistance = d;
    }
  }
  return best;
}

