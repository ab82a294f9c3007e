import { createToken, Lexer, type CustomPatternMatcherFunc, type IToken, type TokenType } from "chevrotain";

/**
 * The tokens of `.rules` (grammar/rules.ebnf, "lexical"). Every keyword and `Identifier` is in the
 * `NameTok` category, so the parser accepts keywords wherever the grammar says `name` (dotted action
 * names such as `session.revoked`, rule names such as `count`).
 *
 * Patterns that need Unicode classes (`\p{L}`) are custom matchers over sticky `u` regexes: chevrotain
 * drops the `u` flag from plain regex patterns, so each custom token carries `start_chars_hint`.
 */

/** Every keyword and identifier: what the grammar calls `name`. */
export const NameTok = createToken({ name: "NameTok", pattern: Lexer.NA, label: "name" });

/* ---- hints for the lexer's first-character optimisation ---------------------------------------- */

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ASCII_LETTERS = [...range(0x41, 0x5a), ...range(0x61, 0x7a)];
const DIGITS = range(0x30, 0x39);
/**
 * One code unit from each 256-wide block above Latin-1: chevrotain buckets those code units by block,
 * so this registers a pattern for any non-Latin-1 start (letters of every script, surrogate pairs).
 */
const ALL_HIGH_BLOCKS = range(1, 255).map((block) => block * 256);
const LETTER_STARTS = [...ASCII_LETTERS, ...range(0xaa, 0xff), ...ALL_HIGH_BLOCKS];

/** A custom matcher from a sticky regex; chevrotain calls it with the whole text and an offset. */
function sticky(re: RegExp): CustomPatternMatcherFunc {
  return (text, offset) => {
    re.lastIndex = offset;
    return re.exec(text);
  };
}

/* ---- trivia ------------------------------------------------------------------------------------- */

export const Whitespace = createToken({
  name: "Whitespace",
  // A byte-order mark is whitespace, not an error.
  pattern: /[ \t\r\n\uFEFF]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/**
 * NUL, C0/C1 controls, BIDI controls, line/paragraph separators: reported as L005 by a scan over the
 * whole source (strings and comments included); the lexer only skips them so they are not L003 too.
 */
export const FORBIDDEN_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
export const ForbiddenChars = createToken({
  name: "ForbiddenChars",
  pattern: new RegExp(`${FORBIDDEN_CHARS.source}+`),
  group: Lexer.SKIPPED,
});

export const BlockComment = createToken({
  name: "BlockComment",
  pattern: /\/\*[\s\S]*?\*\//,
  group: "comments",
  line_breaks: true,
});
/** `/*` with no closing `*\/`: runs to the end of the file (L002). */
export const UnterminatedBlockComment = createToken({
  name: "UnterminatedBlockComment",
  pattern: /\/\*[\s\S]*/,
  group: "comments",
  line_breaks: true,
});
export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n\r]*/, group: "comments" });

/* ---- literals ------------------------------------------------------------------------------------ */

/** A string on one line; escapes are checked (L004) and decoded after lexing. */
export const StringLiteral = createToken({
  name: "StringLiteral",
  pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*"/,
  label: "string",
});
/** A string that reaches the end of its line (L001); a `StringLiteral` to the parser, so it recovers. */
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  pattern: /"(?:[^"\\\n\r]|\\[^\n\r]?)*/,
  categories: [StringLiteral],
  label: "string",
});

const PATH_START = [...LETTER_STARTS, ...DIGITS, 0x5f /* _ */, 0x2d /* - */, 0x2e /* . */, 0x2a /* * */];
const RESOURCE_PATH = /[\p{L}\d_.*-]+\/[\p{L}\d_.*\/-]*/uy;
const PATH_CHARS = /[\p{L}\d_.*-]*/uy;
/**
 * Where the last failed attempt's run of path characters ended, for the lexer run `groups` belongs to.
 * Every start inside a run that has no `/` after it fails too; remembering that keeps the lexer linear
 * on `a.b.c.d...` (each token would otherwise rescan the rest of the run).
 */
const pathMiss = { groups: null as unknown, from: 0, to: -1 };

/** `repo/*`, `secret/billing/*`: unquoted, made of letters, digits, `_ - . *`, containing a `/`. */
export const ResourcePath = createToken({
  name: "ResourcePath",
  pattern: (text, offset, _tokens, groups) => {
    if (groups === pathMiss.groups && offset >= pathMiss.from && offset < pathMiss.to) return null;
    PATH_CHARS.lastIndex = offset;
    PATH_CHARS.exec(text);
    const end = PATH_CHARS.lastIndex;
    if (end === offset || text.charCodeAt(end) !== 0x2f /* / */) {
      pathMiss.groups = groups;
      pathMiss.from = offset;
      pathMiss.to = end;
      return null;
    }
    RESOURCE_PATH.lastIndex = offset;
    return RESOURCE_PATH.exec(text);
  },
  start_chars_hint: PATH_START,
  line_breaks: false,
  label: "resource path",
});

/** `300ms 10s 10m 1h 7d`, not followed by a name character. */
export const DurationLiteral = createToken({
  name: "DurationLiteral",
  pattern: sticky(/\d+(?:ms|s|m|h|d)(?![\p{L}\d_-])/uy),
  start_chars_hint: DIGITS,
  line_breaks: false,
  label: "duration",
});
/** A number glued to letters: `10x`, `5sec`, `-5s`, `1.5h`, `1e5` (L007, or L009 for exponents). */
export const BadDuration = createToken({
  name: "BadDuration",
  pattern: sticky(/-?\d+(?:\.\d+)?[\p{L}_][\p{L}\d_-]*/uy),
  start_chars_hint: [...DIGITS, 0x2d],
  line_breaks: false,
  categories: [DurationLiteral],
  label: "duration",
});
export const NumberLiteral = createToken({ name: "NumberLiteral", pattern: /-?\d+(?:\.\d+)?/, label: "number" });

/**
 * `$threshold`: a reference to a parameter (`param threshold = 5`), standing where a
 * literal may. It is in the categories of the literal tokens, so every place of the grammar that
 * takes a number, a duration or a string takes a parameter too; the AST builder checks that the
 * place is one a parameter may fill, and the parse binds each reference to its value. ASCII only
 * (no homoglyphs to check).
 */
export const ParamRef = createToken({
  name: "ParamRef",
  pattern: /\$[A-Za-z_](?:[A-Za-z0-9_]|-(?!>))*/,
  categories: [StringLiteral, NumberLiteral, DurationLiteral],
  label: "parameter",
});

/* ---- names --------------------------------------------------------------------------------------- */

/**
 * ( letter | "_" ) { letter | digit | "_" | "-" }. A `-` directly before `>` is left for `->`, so
 * `a->b` reads as a workflow arrow. Letters of any script are accepted here and checked for mixing
 * (L006) later.
 */
export const Identifier = createToken({
  name: "Identifier",
  pattern: sticky(/[\p{L}_](?:[\p{L}\d_]|-(?!>))*/uy),
  start_chars_hint: [...LETTER_STARTS, 0x5f /* _ */],
  line_breaks: false,
  categories: [NameTok],
  label: "name",
});

/** Every keyword of grammar/rules.ebnf. All are reserved but usable as names (see `NameTok`). */
export const KEYWORDS = [
  "schema", "principal", "resource", "context", "string", "number", "bool", "duration", "set",
  "actions", "rule", "allow", "challenge", "deny", "revoke", "flag", "signal", "for", "on",
  "when", "unless", "reason", "limit", "per", "within", "valid", "label", "session", "require",
  "satisfied", "by", "target", "or", "and", "not", "in", "like", "has", "true", "false", "action",
  "after", "until", "since", "gap", "count", "distinct", "of", "rate", "regularity", "over",
  "sequence", "deviates", "allowed", "attempted", "denied", "workflow", "deviation", "test", "at",
  "property", "never", "always", "signals", "including", "this", "given", "import", "use", "param",
] as const;
export type Keyword = (typeof KEYWORDS)[number];

const capitalize = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** The keyword tokens by their text: `Kw.rule`, `Kw.allow`. Token names are capitalised (`Rule`). */
export const Kw = Object.fromEntries(
  KEYWORDS.map((word) => [
    word,
    createToken({
      name: capitalize(word),
      pattern: new RegExp(word),
      longer_alt: Identifier,
      categories: [NameTok],
      label: `"${word}"`,
    }),
  ]),
) as { readonly [K in Keyword]: TokenType };

/* ---- punctuation ----------------------------------------------------------------------------------- */

const punct = (name: string, text: string) => createToken({ name, pattern: text, label: `"${text}"` });

export const Arrow = punct("Arrow", "->");
export const FatArrow = punct("FatArrow", "=>");
export const PlusEq = punct("PlusEq", "+=");
export const EqEq = punct("EqEq", "==");
export const NotEq = punct("NotEq", "!=");
export const LtEq = punct("LtEq", "<=");
export const GtEq = punct("GtEq", ">=");
/** `=` in `param NAME = VALUE` (after `==`, `=>`, `+=`, `<=`, `>=` in match order). */
export const Eq = punct("Eq", "=");
export const LCurly = punct("LCurly", "{");
export const RCurly = punct("RCurly", "}");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const Comma = punct("Comma", ",");
export const Colon = punct("Colon", ":");
export const Dot = punct("Dot", ".");
export const Star = punct("Star", "*");
export const Pipe = punct("Pipe", "|");
export const Question = punct("Question", "?");
export const Lt = punct("Lt", "<");
export const Gt = punct("Gt", ">");
export const Plus = punct("Plus", "+");

/**
 * Limits checked while lexing, so that a hostile file stops early instead of filling memory with
 * tokens: set by `lex` before each run (src/syntax/lexer.ts).
 */
export const lexLimits = {
  /** Most tokens (comments and unknown characters included). */
  maxTokens: Infinity,
  /** Most runs of unknown characters (each one L003), and most unknown characters in all. */
  maxUnknownRuns: Infinity,
  maxUnknownChars: Infinity,
  unknownRuns: 0,
  unknownChars: 0,
  lastUnknownEnd: -1,
};

/** Thrown from a pattern to stop the lexer; `groups` holds what was lexed so far. */
export class LexAbort extends Error {
  constructor(
    readonly reason: "tokens" | "unknown",
    readonly offset: number,
    readonly groups: { readonly [group: string]: IToken[] },
  ) {
    super(reason);
  }
}

/**
 * Never matches: tried first at every token start, it stops the lexer once `lexLimits.maxTokens` is
 * passed (chevrotain has no such limit; a 16 MB file of `(` would be 16 million token objects).
 */
export const TokenBudget = createToken({
  name: "TokenBudget",
  pattern: (_text, offset, tokens, groups) => {
    if (tokens.length + (groups["comments"]?.length ?? 0) + (groups["unknown"]?.length ?? 0) > lexLimits.maxTokens) {
      throw new LexAbort("tokens", offset, groups);
    }
    return null;
  },
  start_chars_hint: [...range(0, 255), ...ALL_HIGH_BLOCKS],
  line_breaks: false,
  group: Lexer.SKIPPED,
});

/**
 * Any other character (one code point). The lexer never fails: these become L003 diagnostics, adjacent
 * ones merged. Counted while lexing so that a file of garbage stops at the error limit.
 */
export const UnknownChar = createToken({
  name: "UnknownChar",
  pattern: (text, offset, _tokens, groups) => {
    const c = text.charCodeAt(offset);
    const next = text.charCodeAt(offset + 1); // NaN at the end
    const width = c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    const limits = lexLimits;
    if ((offset !== limits.lastUnknownEnd && ++limits.unknownRuns > limits.maxUnknownRuns) || ++limits.unknownChars > limits.maxUnknownChars) {
      throw new LexAbort("unknown", offset, groups);
    }
    limits.lastUnknownEnd = offset + width;
    return [text.slice(offset, offset + width)] as unknown as RegExpExecArray;
  },
  start_chars_hint: [...range(0, 255), ...ALL_HIGH_BLOCKS],
  line_breaks: false,
  group: "unknown",
});

/* ---- the lexer ------------------------------------------------------------------------------------- */

/** Longest keyword first, so `allowed` is not read as `allow` + `ed`. */
const KEYWORD_TOKENS = [...KEYWORDS].sort((a, b) => b.length - a.length).map((k) => Kw[k]);

/** All tokens in match order (chevrotain takes the first pattern that matches, then `longer_alt`). */
export const ALL_TOKENS: TokenType[] = [
  NameTok,
  TokenBudget,
  Whitespace,
  ForbiddenChars,
  BlockComment,
  UnterminatedBlockComment,
  LineComment,
  StringLiteral,
  UnterminatedString,
  ResourcePath,
  DurationLiteral,
  BadDuration,
  NumberLiteral,
  ParamRef,
  ...KEYWORD_TOKENS,
  Identifier,
  Arrow,
  FatArrow,
  PlusEq,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  Eq,
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Dot,
  Star,
  Pipe,
  Question,
  Lt,
  Gt,
  Plus,
  UnknownChar,
];

/**
 * The lexer, built on first use and reused: building it analyses every pattern, which is work an
 * application that only decides (or a bundle without the parser) should not pay for at import. Only
 * `\n` ends a line, as in the caret renderer (`\r\n` is `\r` + newline).
 */
export function leashLexer(): Lexer {
  return (lexer ??= new Lexer(ALL_TOKENS, {
    ensureOptimizations: true,
    positionTracking: "full",
    lineTerminatorsPattern: /\n/g,
    lineTerminatorCharacters: ["\n"],
  }));
}
let lexer: Lexer | null = null;
