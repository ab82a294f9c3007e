import type { IToken } from "chevrotain";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { CODES } from "../diagnostics/codes.js";
import { lineSpan, spanAtOffset, tokenSpan } from "./position.js";
import { DiagnosticSink } from "./sink.js";
import { findMixedScript } from "./scripts.js";
import { decodeString } from "./strings.js";
import { resolveOptions, type ParseOptions, type ResolvedOptions } from "./options.js";
import {
  BadDuration,
  DurationLiteral,
  FORBIDDEN_CHARS,
  Identifier,
  leashLexer,
  LexAbort,
  lexLimits,
  NumberLiteral,
  ResourcePath,
  StringLiteral,
  UnterminatedBlockComment,
  UnterminatedString,
} from "./tokens.js";

export interface TokenizeResult {
  /** The tokens the parser reads (no whitespace or comments). */
  readonly tokens: IToken[];
  /** Comments in source order (an unterminated block comment is not one). */
  readonly comments: IToken[];
  readonly diagnostics: Diagnostic[];
}

/** Lex `source` on its own: the tokens, the comments and the lexing diagnostics (L0xx). */
export function tokenize(source: string, options: ParseOptions = {}): TokenizeResult {
  const opts = resolveOptions(options);
  const sink = new DiagnosticSink(opts.maxErrors);
  const { tokens, comments } = lex(source, opts, sink);
  return { tokens, comments, diagnostics: sink.finish() };
}

/**
 * The lexing phase: size limit (L008), forbidden characters anywhere (L005), then chevrotain's lexer
 * and a pass over its tokens for the problems patterns cannot state (L001-L004, L006, L007, L009).
 * Stops early when the sink is full.
 */
export function lex(source: string, opts: ResolvedOptions, sink: DiagnosticSink): { tokens: IToken[]; comments: IToken[] } {
  const none = { tokens: [], comments: [] };
  if (source.length > opts.maxSourceLength) {
    sink.add(
      diagnostic(
        "L008",
        lineSpan(opts.file, 0, 1, 1, 0),
        `source too large: ${source.length.toLocaleString("en")} characters (at most ${opts.maxSourceLength.toLocaleString("en")})`,
        CODES.L008.help,
      ),
    );
    return none;
  }
  scanForbiddenChars(source, opts.file, sink);
  if (sink.full) return none;

  const limits = lexLimits;
  limits.maxTokens = opts.maxTokens;
  limits.maxUnknownRuns = opts.maxErrors - sink.count;
  limits.maxUnknownChars = MAX_UNKNOWN_CHARS;
  limits.unknownRuns = 0;
  limits.unknownChars = 0;
  limits.lastUnknownEnd = -1;
  let result;
  try {
    result = leashLexer().tokenize(source);
  } catch (e) {
    if (!(e instanceof LexAbort)) throw e;
    // Garbage, or too much of it: report what was seen so far and stop.
    reportUnknownChars(e.groups["unknown"] ?? [], opts.file, sink);
    const at = spanAtOffset(opts.file, source, e.offset);
    if (e.reason === "tokens") {
      sink.add(diagnostic("P104", at, `policy too large: more than ${opts.maxTokens.toLocaleString("en")} tokens`, CODES.P104.help));
    } else sink.overflow(at);
    return none;
  } finally {
    limits.maxTokens = limits.maxUnknownRuns = limits.maxUnknownChars = Infinity;
  }
  const comments = result.groups.comments ?? [];
  reportUnknownChars(result.groups.unknown ?? [], opts.file, sink);
  checkTokens(result.tokens, opts.file, sink);
  const proper: IToken[] = [];
  for (const c of comments) {
    if (c.tokenType === UnterminatedBlockComment) {
      sink.add(diagnostic("L002", lineSpan(opts.file, c.startOffset, c.startLine!, c.startColumn!, 2), "unterminated block comment", CODES.L002.help));
    } else proper.push(c);
  }
  return { tokens: result.tokens, comments: proper };
}

const FORBIDDEN_NAMES: Readonly<Record<number, string>> = {
  0x00: "NUL",
  0x061c: "ARABIC LETTER MARK",
  0x200e: "LEFT-TO-RIGHT MARK",
  0x200f: "RIGHT-TO-LEFT MARK",
  0x2028: "LINE SEPARATOR",
  0x2029: "PARAGRAPH SEPARATOR",
  0x202a: "LEFT-TO-RIGHT EMBEDDING",
  0x202b: "RIGHT-TO-LEFT EMBEDDING",
  0x202c: "POP DIRECTIONAL FORMATTING",
  0x202d: "LEFT-TO-RIGHT OVERRIDE",
  0x202e: "RIGHT-TO-LEFT OVERRIDE",
  0x2066: "LEFT-TO-RIGHT ISOLATE",
  0x2067: "RIGHT-TO-LEFT ISOLATE",
  0x2068: "FIRST STRONG ISOLATE",
  0x2069: "POP DIRECTIONAL ISOLATE",
};

function describeChar(c: number): string {
  const hex = `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
  return `${hex} (${FORBIDDEN_NAMES[c] ?? "control character"})`;
}

/** L005 for each forbidden character anywhere in the file, strings and comments included. */
function scanForbiddenChars(source: string, file: string, sink: DiagnosticSink): void {
  const re = new RegExp(FORBIDDEN_CHARS.source, "g");
  let line = 1;
  let lineStart = 0;
  let counted = 0; // newlines are counted up to here
  for (let m = re.exec(source); m !== null; m = re.exec(source)) {
    const at = m.index;
    for (let nl = source.indexOf("\n", counted); nl !== -1 && nl < at; nl = source.indexOf("\n", nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    counted = at;
    const c = source.charCodeAt(at);
    const what = c === 0 ? "NUL byte" : `forbidden character ${describeChar(c)}`;
    if (!sink.add(diagnostic("L005", lineSpan(file, at, line, at - lineStart + 1, 1), `${what} in policy source`, CODES.L005.help))) return;
  }
}

/** L003 for runs of characters no token starts with (adjacent ones reported once). */
function reportUnknownChars(unknown: readonly IToken[], file: string, sink: DiagnosticSink): void {
  for (let i = 0; i < unknown.length; ) {
    const first = unknown[i]!;
    let last = first;
    let j = i + 1;
    while (j < unknown.length && unknown[j]!.startOffset === last.endOffset! + 1) last = unknown[j++]!;
    const text = unknown.slice(i, j).map((t) => t.image).join("");
    const shown = text.length > 20 ? `${text.slice(0, 20)}...` : text;
    const message = j - i === 1 ? `unexpected character "${shown}"` : `unexpected characters "${shown}"`;
    const span = lineSpan(file, first.startOffset, first.startLine!, first.startColumn!, last.endOffset! + 1 - first.startOffset);
    if (!sink.add(diagnostic("L003", span, message, CODES.L003.help))) return;
    i = j;
  }
}

const NON_ASCII = /[^\x00-\x7f]/;
/** More unknown characters than this (in any number of runs) stop the lexer: the file is not a policy. */
const MAX_UNKNOWN_CHARS = 65_536;
const EXPONENT = /^-?\d+(?:\.\d+)?[eE][+-]?\d*$/;

/** The checks on single tokens: strings, durations, numbers, mixed scripts. */
function checkTokens(tokens: readonly IToken[], file: string, sink: DiagnosticSink): void {
  for (const t of tokens) {
    if (sink.full) return;
    const type = t.tokenType;
    if (type === StringLiteral || type === UnterminatedString) {
      if (type === UnterminatedString) {
        sink.add(diagnostic("L001", tokenSpan(file, t), "unterminated string", CODES.L001.help));
      }
      if (LONE_SURROGATE.test(t.image)) reportLoneSurrogates(t, file, sink);
      if (t.image.includes("\\")) {
        const errors: { index: number; length: number; message: string }[] = [];
        decodeString(t.image, errors);
        for (const e of errors) {
          sink.add(diagnostic("L004", lineSpan(file, t.startOffset + e.index, t.startLine!, t.startColumn! + e.index, e.length), e.message, CODES.L004.help));
        }
      }
    } else if (type === Identifier || type === ResourcePath) {
      if (NON_ASCII.test(t.image)) checkScripts(t, file, sink);
    } else if (type === BadDuration) {
      if (EXPONENT.test(t.image)) {
        sink.add(diagnostic("L009", tokenSpan(file, t), `invalid number "${t.image}": exponents are not supported`, CODES.L009.help));
      } else {
        sink.add(diagnostic("L007", tokenSpan(file, t), `invalid duration "${t.image}"`, CODES.L007.help));
      }
    } else if (type === DurationLiteral) {
      if (!Number.isSafeInteger(durationMs(t.image))) {
        sink.add(diagnostic("L007", tokenSpan(file, t), `duration "${t.image}" is too long`, CODES.L007.help));
      }
    } else if (type === NumberLiteral) {
      if (!Number.isFinite(Number(t.image))) {
        sink.add(diagnostic("L009", tokenSpan(file, t), `number "${t.image.slice(0, 20)}..." is too large`, CODES.L009.help));
      }
    }
  }
}

/** Half of a UTF-16 surrogate pair without the other half: not a character (no UTF-8 file has one). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * L005 for each unpaired surrogate in a string: text from a UTF-8 file never has one, and no escape
 * writes one (`\u{D800}` is L004), so the formatter could not print the string back.
 */
function reportLoneSurrogates(t: IToken, file: string, sink: DiagnosticSink): void {
  const all = new RegExp(LONE_SURROGATE.source, "gu");
  for (let m = all.exec(t.image); m !== null; m = all.exec(t.image)) {
    const hex = m[0].charCodeAt(0).toString(16).toUpperCase();
    const span = lineSpan(file, t.startOffset + m.index, t.startLine!, t.startColumn! + m.index, 1);
    if (!sink.add(diagnostic("L005", span, `unpaired surrogate U+${hex} in a string: it is half of a character`, CODES.L005.help))) return;
  }
}

function checkScripts(t: IToken, file: string, sink: DiagnosticSink): void {
  // A resource path is checked segment by segment: `repo/файлы` is two names.
  const parts = t.tokenType === ResourcePath ? t.image.split("/") : [t.image];
  let at = 0;
  for (const part of parts) {
    const mixed = findMixedScript(part);
    if (mixed !== null) {
      const span = lineSpan(file, t.startOffset + at + mixed.index, t.startLine!, t.startColumn! + at + mixed.index, mixed.length);
      const message = `"${part}" mixes ${mixed.scripts.join(" and ")} letters`;
      sink.add(diagnostic("L006", span, message, CODES.L006.help));
      return;
    }
    at += part.length + 1;
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `300ms` -> 300, `10m` -> 600000. */
export function durationMs(text: string): number {
  const unitAt = text.endsWith("ms") ? text.length - 2 : text.length - 1;
  return Number(text.slice(0, unitAt)) * UNIT_MS[text.slice(unitAt)]!;
}
