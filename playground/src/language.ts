import { HighlightStyle, LanguageSupport, StreamLanguage, syntaxHighlighting, type StreamParser } from "@codemirror/language";
import { classHighlighter, tags as t } from "@lezer/highlight";
import { KEYWORDS } from "leash";

/**
 * The `.rules` language for CodeMirror: a stream tokenizer over the same token classes as the
 * lexer (src/syntax/tokens.ts) — comments, strings, durations before numbers, resource paths,
 * the grammar's keywords (KEYWORDS, with the effects set apart), names, `[high]` tags and
 * operators. Highlighting only; the diagnostics come from the real parser and checker.
 */
const EFFECTS = new Set(["allow", "challenge", "deny", "revoke", "flag"]);
const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

interface State {
  /** Inside a block comment. */
  comment: boolean;
  /** The previous significant token, to mark the name after `rule`, `workflow`, `test`. */
  last: string;
}

const DURATION = /^-?\d+(?:ms|s|m|h|d)(?![\p{L}\d_])/u;
const NUMBER = /^-?\d+(?:\.\d+)?/;
const RESOURCE_PATH = /^[\p{L}\d_.*-]+\/[\p{L}\d_.*/-]*/u;
const NAME = /^[\p{L}_][\p{L}\d_-]*/u;
const OPERATOR = /^(?:->|=>|\+=|==|!=|<=|>=|[<>|?*+])/;

const parser: StreamParser<State> = {
  name: "leash",
  startState: () => ({ comment: false, last: "" }),
  copyState: (s) => ({ ...s }),
  token(stream, state) {
    if (state.comment) {
      if (stream.skipTo("*/")) {
        stream.pos += 2;
        state.comment = false;
      } else stream.skipToEnd();
      return "blockComment";
    }
    if (stream.eatSpace()) return null;
    if (stream.match("//")) {
      stream.skipToEnd();
      return "lineComment";
    }
    if (stream.match("/*")) {
      state.comment = true;
      return "blockComment";
    }
    if (stream.peek() === '"') {
      stream.next();
      let escaped = false;
      for (let ch = stream.next(); ch !== undefined; ch = stream.next()) {
        if (ch === '"' && !escaped) break;
        escaped = !escaped && ch === "\\";
      }
      state.last = "string";
      return "string";
    }
    if (stream.match("[high]")) return "meta";
    if (stream.match(RESOURCE_PATH)) {
      state.last = "path";
      return "string.special";
    }
    if (stream.match(DURATION)) return "unit";
    if (stream.match(NUMBER)) return "number";
    const name = stream.match(NAME) as RegExpMatchArray | null;
    if (name) {
      const word = name[0];
      const previous = state.last;
      state.last = word;
      // After `rule`, `workflow`: the item's name (keywords are usable as names too).
      if (previous === "rule" || previous === "workflow") return "variableName.definition";
      if (stream.peek() === ":" && previous === "") return "propertyName";
      if (EFFECTS.has(word)) return "controlKeyword";
      if (word === "true" || word === "false") return "bool";
      if (KEYWORD_SET.has(word)) return "keyword";
      return "variableName";
    }
    if (stream.match(OPERATOR)) return "operator";
    const ch = stream.next();
    if (ch === "\n") state.last = "";
    return ch === "{" || ch === "}" || ch === "(" || ch === ")" ? "bracket" : "punctuation";
  },
  blankLine(state) {
    state.last = "";
  },
  languageData: { commentTokens: { line: "//", block: { open: "/*", close: "*/" } } },
};

export const leashLanguage = StreamLanguage.define(parser);

const style = HighlightStyle.define([
  { tag: t.keyword, color: "#7c3aed" },
  { tag: t.controlKeyword, color: "#b91c1c", fontWeight: "600" },
  { tag: [t.lineComment, t.blockComment], color: "#6b7280", fontStyle: "italic" },
  { tag: t.string, color: "#047857" },
  { tag: t.special(t.string), color: "#0e7490" },
  { tag: [t.number, t.unit, t.bool], color: "#b45309" },
  { tag: t.meta, color: "#be185d", fontWeight: "600" },
  { tag: t.definition(t.variableName), color: "#1d4ed8", fontWeight: "600" },
  { tag: t.propertyName, color: "#1d4ed8" },
  { tag: t.operator, color: "#9333ea" },
]);

/** The language with its highlighting (colours, and stable `tok-*` classes for tests and themes). */
export function leash(): LanguageSupport {
  return new LanguageSupport(leashLanguage, [syntaxHighlighting(style), syntaxHighlighting(classHighlighter)]);
}
