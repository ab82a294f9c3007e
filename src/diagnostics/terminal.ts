/**
 * Text for a terminal: ANSI colours, and values written so that no invisible character reaches the
 * screen raw. Shared by the CLI and by renderers in the library (explain), so it runs anywhere.
 */
import { escapeInvisible, INVISIBLE_CHARS } from "../syntax/strings.js";

const CODES: Record<string, string> = {
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  magenta: "\x1b[35m",
  cyan: "\x1b[36m",
  dim: "\x1b[2m",
  bold: "\x1b[1m",
};

/** Wraps `text` in an ANSI colour when `on` (see `streamColor` in io.ts). */
export function paint(text: string, color: string, on: boolean): string {
  return on && CODES[color] ? `${CODES[color]}${text}\x1b[0m` : text;
}

/** Invisible characters but C0 controls: JSON.stringify escapes those in strings, and writes `\n` only as layout. */
const INVISIBLE_IN_JSON = new RegExp(`(?![\\x00-\\x1f])${INVISIBLE_CHARS.source}`, "gu");

/**
 * `value` as JSON in which no invisible character is raw: JSON.stringify escapes C0 controls but
 * leaves DEL, C1 controls, BIDI and zero-width characters and U+2028/U+2029 as they are; those are
 * written as `\uXXXX` too, which any JSON reader decodes to the same value.
 */
export function jsonText(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent) ?? "null";
  return text.replace(INVISIBLE_IN_JSON, (ch) => {
    let out = "";
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return out;
  });
}

/** One JSON Lines record (see `jsonText`). */
export function jsonLine(value: unknown): string {
  return jsonText(value) + "\n";
}

/** A value as JSON for the terminal (see `jsonText`); never throws (a value JSON cannot write is `?`). */
export function jsonValue(value: unknown): string {
  try {
    return jsonText(value);
  } catch {
    return "?";
  }
}

/** A value from a trace or request as text for the terminal: a string as itself (escaped), anything else as JSON. */
export function valueText(value: unknown): string {
  return typeof value === "string" ? escapeInvisible(value) : jsonValue(value);
}
