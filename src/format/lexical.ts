import { findMixedScript } from "../syntax/scripts.js";
import { quoteString } from "../syntax/strings.js";
import type { ActionPattern, DurationLit, KeyRef, Literal, Path, SetLit } from "../ast/nodes.js";

/**
 * Lexical forms the printer writes: strings, numbers, names, resource globs. Each function returns
 * text the lexer reads back as the same value (grammar/rules.ebnf, "lexical").
 */

/**
 * A string literal with the grammar's escapes. Characters the lexer refuses to see raw (control
 * characters, BIDI overrides, line/paragraph separators, format characters such as U+200B, lone
 * surrogates) are written as `\u{HEX}` so the output is always accepted and always visible.
 */
export function formatString(value: string): string {
  return quoteString(value);
}

/**
 * The canonical decimal form of a number: `3`, `0.9`, `-1`, never exponent notation (the grammar
 * has none). `-0` is written `0`.
 */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite number: ${n}`);
  if (n === 0) return "0";
  const sign = n < 0 ? "-" : "";
  const text = String(Math.abs(n));
  const e = text.indexOf("e");
  if (e < 0) return sign + text;
  // Expand `d.ddde±x` into plain digits; the shortest round-trip digits stay the same.
  const mantissa = text.slice(0, e);
  const exponent = Number(text.slice(e + 1));
  const digits = mantissa.replace(".", "");
  const point = (mantissa.indexOf(".") < 0 ? mantissa.length : mantissa.indexOf(".")) + exponent;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A duration as written, or `$name` for a parameter. */
export function formatDuration(d: DurationLit): string {
  return d.param !== undefined ? `$${d.param}` : d.text;
}

/** A literal as the lexer reads it back; a value written as a parameter is `$name`. */
export function formatLiteral(l: Literal): string {
  if (l.param !== undefined) return `$${l.param}`;
  switch (l.kind) {
    case "StringLit":
      return formatString(l.value);
    case "NumberLit":
      return formatNumber(l.value);
    case "BoolLit":
      return l.value ? "true" : "false";
    case "DurationLit":
      return formatDuration(l);
  }
}

export function formatSet(s: SetLit): string {
  return `[${s.elements.map(formatLiteral).join(", ")}]`;
}

export function formatAction(a: ActionPattern): string {
  return a.segments.join(".");
}

export function formatPath(p: Path): string {
  return [p.root, ...p.segments].join(".");
}

export function formatKey(k: KeyRef): string {
  switch (k.kind) {
    case "SessionKey":
      return "session";
    case "PrincipalKey":
      return "principal";
    case "PathKey":
      return formatPath(k.path);
    case "CompoundKey":
      return `(${k.parts.map(formatKey).join(", ")})`;
  }
}

/**
 * A resource glob: unquoted when the lexer reads it back as one `resourcePath` token (path
 * characters only, at least one `/`, each segment in one script), quoted otherwise. A glob with
 * `//` is quoted too: unquoted, it reads as a line comment to anyone but today's lexer.
 */
export function formatResourceGlob(glob: string): string {
  const bare = BARE_PATH.test(glob) && !glob.includes("//") && glob.split("/").every((part) => findMixedScript(part) === null);
  return bare ? glob : formatString(glob);
}

// The lexer's ResourcePath pattern, anchored (src/syntax/tokens.ts).
const BARE_PATH = /^[\p{L}\d_.*-]+\/[\p{L}\d_.*/-]*$/u;
