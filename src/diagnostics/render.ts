import type { Diagnostic } from "./diagnostic.js";
import { escapeInvisible, INVISIBLE_CHARS } from "../syntax/strings.js";

export interface RenderOptions {
  /** ANSI colours (the CLI turns them on for a TTY without `NO_COLOR`). */
  readonly color?: boolean;
}

const RESET = "\x1b[0m";
const RED = "\x1b[31;1m";
const YELLOW = "\x1b[33;1m";
const BLUE = "\x1b[34;1m";
const BOLD = "\x1b[1m";

/**
 * Render a diagnostic as
 * ```
 * policy.rules:3:14: error[P101]: expected an effect, found "alow"
 *   |
 * 3 | rule r: alow x.y
 *   |         ^^^^
 *   = help: effects are allow, challenge, deny, revoke and flag
 * ```
 * `source` is the file text; without it (or when it is empty, as for a file that could not be read,
 * C298) only the first line and the help are printed. File names, messages and source lines are
 * printed with their control and BIDI characters escaped or replaced, so no diagnostic can carry a
 * terminal escape sequence or reorder what is shown.
 */
export function renderDiagnostic(d: Diagnostic, source?: string, options: RenderOptions = {}): string {
  const paint = (code: string, s: string) => (options.color ? code + s + RESET : s);
  const sevColor = d.severity === "error" ? RED : d.severity === "warning" ? YELLOW : BLUE;
  const { file, line, column } = d.span;
  const head = `${escapeInvisible(file)}:${line}:${column}: ${paint(sevColor, `${d.severity}[${d.code}]`)}: ${paint(BOLD, escapeInvisible(d.message))}`;
  const out = [head];
  if (source !== undefined && source !== "") out.push(...caretFrame(source, d, paint, sevColor));
  if (d.help) out.push(`${" ".repeat(gutterWidth(d))}= help: ${escapeInvisible(d.help)}`);
  for (const r of d.related ?? []) out.push(`${" ".repeat(gutterWidth(d))}= note: ${escapeInvisible(r.message)} (${escapeInvisible(r.span.file)}:${r.span.line}:${r.span.column})`);
  return out.join("\n");
}

export function renderDiagnostics(ds: readonly Diagnostic[], sources: (file: string) => string | undefined, options: RenderOptions = {}): string {
  return ds.map((d) => renderDiagnostic(d, sources(d.span.file), options)).join("\n\n");
}

function gutterWidth(d: Diagnostic): number {
  return String(d.span.line).length + 1;
}

const MAX_FRAME_COLUMNS = 160;

function caretFrame(source: string, d: Diagnostic, paint: (c: string, s: string) => string, color: string): string[] {
  const lineText = nthLine(source, d.span.line);
  if (lineText === undefined) return [];
  const w = gutterWidth(d);
  const pad = " ".repeat(w);
  // Control characters (NUL, BIDI overrides, tabs) are shown visibly so the caret lines up.
  const visible = [...lineText.slice(0, MAX_FRAME_COLUMNS)].map(visibleChar).join("");
  const startCol = Math.max(1, d.span.column);
  const endCol = d.span.endLine === d.span.line ? Math.max(d.span.endColumn, startCol + 1) : lineText.length + 1;
  const width = Math.max(1, Math.min(endCol - startCol, MAX_FRAME_COLUMNS - startCol + 1));
  const before = [...lineText.slice(0, startCol - 1)].map(visibleChar).join("");
  const caretPad = " ".repeat(Math.min(before.length, MAX_FRAME_COLUMNS));
  return [
    `${pad}|`,
    `${String(d.span.line).padStart(w - 1)} | ${visible}`,
    `${pad}| ${caretPad}${paint(color, "^".repeat(width))}`,
  ];
}

function visibleChar(ch: string): string {
  if (ch === "\t") return " ";
  return INVISIBLE_CHARS.test(ch) ? "\u00bf" : ch; // a visible stand-in of width one
}

function nthLine(source: string, line: number): string | undefined {
  let start = 0;
  for (let i = 1; i < line; i++) {
    const nl = source.indexOf("\n", start);
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  const end = source.indexOf("\n", start);
  return source.slice(start, end < 0 ? source.length : end).replace(/\r$/, "");
}
