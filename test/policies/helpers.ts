import { compileSources, type CompileResult } from "../../src/compile/compile.js";
import { renderDiagnostics } from "../../src/diagnostics/render.js";

/** Compiles a policy of in-memory files (root-relative path -> text); `entries` default: every file. */
export function compileFiles(files: Readonly<Record<string, string>>, entries: readonly string[] = Object.keys(files), root = "policy"): CompileResult {
  return compileSources({ files: entries, read: (p) => (Object.hasOwn(files, p) ? files[p] : undefined), root });
}

/** Each diagnostic as `CODE file:line:col message`, then each related place as `  -> file:line:col message`. */
export function described(r: CompileResult): string[] {
  return r.diagnostics.flatMap((d) => [
    `${d.code} ${d.span.file}:${d.span.line}:${d.span.column} ${d.message}`,
    ...(d.related ?? []).map((x) => `  -> ${x.span.file}:${x.span.line}:${x.span.column} ${x.message}`),
  ]);
}

/** The rendered diagnostics, with each file's source frame. */
export function rendered(r: CompileResult): string {
  return renderDiagnostics(r.diagnostics, (f) => r.sources.get(f));
}
