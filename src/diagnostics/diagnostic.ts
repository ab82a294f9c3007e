import type { Span } from "../ast/span.js";

export type Severity = "error" | "warning" | "info";

/**
 * A problem found in a `.rules` file or at run time. `code` is stable (documented in
 * `docs/errors.md`); `L0xx` lexing, `P1xx` parsing, `C2xx` checking, `W4xx` lints, `R3xx` runtime.
 */
export interface Diagnostic {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
  /** What to do about it, in one or two sentences. */
  readonly help?: string;
  /** Further locations that explain the problem (e.g. the earlier declaration). */
  readonly related?: readonly { readonly message: string; readonly span: Span }[];
}

export function diagnostic(
  code: string,
  span: Span,
  message: string,
  help?: string,
  severity: Severity = code.startsWith("W") ? "warning" : "error",
): Diagnostic {
  return help === undefined ? { code, severity, message, span } : { code, severity, message, span, help };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Sort by file, then position, then code; stable for equal keys. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      (a.span.file < b.span.file ? -1 : a.span.file > b.span.file ? 1 : 0) ||
      a.span.offset - b.span.offset ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}
