/** String literals: `"..."` with the escapes `\" \\ \n \t \r \u{HEX}` (grammar/rules.ebnf, `string`). */

/**
 * Characters that must never reach a reader raw: Cc controls (ESC starts terminal escape sequences),
 * Cf format characters (BIDI marks and overrides, zero-width characters, the soft hyphen), Zl/Zp
 * separators and unpaired surrogates. They hide or reorder text (Trojan Source, CVE-2021-42574).
 */
export const INVISIBLE_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE_CHARS.source, "gu");

/** `\u{1B}`: the string escape the lexer reads back as the character. */
export function unicodeEscape(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase()}}`;
}

/**
 * `text` with every invisible character (see `INVISIBLE_CHARS`) written as `\u{HEX}`: safe to print
 * on a terminal (no escape sequence, no BIDI reordering) and unambiguous to read. Used for every
 * file name, trace value and message the CLI prints, and by `quoteString` for string literals.
 */
export function escapeInvisible(text: string): string {
  return INVISIBLE_CHARS.test(text) ? text.replace(INVISIBLE_ALL, unicodeEscape) : text;
}

/**
 * `value` as a string literal of the grammar (the inverse of `decodeString`): quotes and backslashes
 * escaped, `\n \t \r` as themselves, every other invisible character as `\u{HEX}`, so the literal is
 * always accepted by the lexer and reads back as `value`.
 */
export function quoteString(value: string): string {
  const body = value.replace(/["\\\n\t\r]/g, (c) => QUOTED[c]!);
  return `"${escapeInvisible(body)}"`;
}

const QUOTED: Readonly<Record<string, string>> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r" };

export interface EscapeError {
  /** UTF-16 index in the token image where the bad escape starts (at the backslash). */
  readonly index: number;
  readonly length: number;
  readonly message: string;
}

const SIMPLE: Readonly<Record<string, string>> = { '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r" };
const HEX = /^[0-9a-fA-F]{1,6}$/;

/**
 * Decode a string token's image (quotes included; the closing quote may be missing for an
 * unterminated string). Invalid escapes are reported and decoded as written.
 */
export function decodeString(image: string, errors?: EscapeError[]): string {
  const end = image.length > 1 && image.endsWith('"') && !endsWithEscapedQuote(image) ? image.length - 1 : image.length;
  const body = image.slice(1, end);
  if (!body.includes("\\")) return body;
  let out = "";
  let i = 0;
  while (i < body.length) {
    const bs = body.indexOf("\\", i);
    if (bs < 0) {
      out += body.slice(i);
      break;
    }
    out += body.slice(i, bs);
    const next = body[bs + 1];
    const simple = next === undefined ? undefined : SIMPLE[next];
    if (simple !== undefined) {
      out += simple;
      i = bs + 2;
      continue;
    }
    if (next === "u") {
      const close = body[bs + 2] === "{" ? body.indexOf("}", bs + 3) : -1;
      const hex = close < 0 ? "" : body.slice(bs + 3, close);
      const cp = HEX.test(hex) ? parseInt(hex, 16) : -1;
      if (cp >= 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
        out += String.fromCodePoint(cp);
        i = close + 1;
        continue;
      }
      const length = close < 0 ? 2 : close + 1 - bs;
      errors?.push({
        index: bs + 1,
        length,
        message:
          close < 0 || !HEX.test(hex)
            ? "invalid unicode escape: write \\u{HEX} with 1 to 6 hex digits"
            : `invalid unicode escape: U+${hex.toUpperCase()} is not a Unicode scalar value`,
      });
      out += body.slice(bs, bs + length);
      i = bs + length;
      continue;
    }
    const shown = next === undefined ? "\\" : `\\${String.fromCodePoint(body.codePointAt(bs + 1)!)}`;
    errors?.push({ index: bs + 1, length: shown.length, message: `invalid escape "${shown}" in string` });
    out += shown;
    i = bs + shown.length;
  }
  return out;
}

/** `"abc\"` (unterminated, its last quote escaped) does not end with a closing quote. */
function endsWithEscapedQuote(image: string): boolean {
  let backslashes = 0;
  for (let i = image.length - 2; i > 0 && image[i] === "\\"; i--) backslashes++;
  return backslashes % 2 === 1;
}
