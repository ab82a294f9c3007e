import { DiagnosticSeverity, DiagnosticTag, type Diagnostic as LspDiagnostic } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { pathToFileURL } from "node:url";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { rangeOf } from "./text.js";

const SEVERITY = { error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, info: DiagnosticSeverity.Information } as const;

/** Lints about declarations nothing uses: editors show those faded. */
const UNNECESSARY: ReadonlySet<string> = new Set(["W404", "W405"]);

/**
 * A leash diagnostic as the protocol carries it: the same code and range, the message followed by
 * the help as `leash check` prints it (`= help: ...`), related spans as related information.
 */
export function toLspDiagnostic(doc: TextDocument, d: Diagnostic): LspDiagnostic {
  const out: LspDiagnostic = {
    range: rangeOf(doc, d.span),
    severity: SEVERITY[d.severity],
    code: d.code,
    source: "leash",
    message: d.help ? `${d.message}\n= help: ${d.help}` : d.message,
  };
  if (UNNECESSARY.has(d.code)) out.tags = [DiagnosticTag.Unnecessary];
  if (d.related && d.related.length > 0) {
    out.relatedInformation = d.related.map((r) => {
      if (r.span.file === d.span.file) return { location: { uri: doc.uri, range: rangeOf(doc, r.span) }, message: r.message };
      // A place in another file: its own URI when it is a file on disk; a library module has none,
      // so the place is named in the message, at the diagnostic's own range.
      const where = `${r.span.file}:${r.span.line}:${r.span.column}`;
      const range = { start: { line: r.span.line - 1, character: r.span.column - 1 }, end: { line: r.span.endLine - 1, character: r.span.endColumn - 1 } };
      return r.span.file.startsWith("/") ? { location: { uri: pathToFileURL(r.span.file).href, range }, message: `${where}: ${r.message}` } : { location: { uri: doc.uri, range: out.range }, message: `${where}: ${r.message}` };
    });
  }
  return out;
}
