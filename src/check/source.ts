import type { PolicyFile } from "../ast/nodes.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { parsePolicy } from "../syntax/index.js";
import { checkPolicy } from "./check.js";
import { lintPolicy } from "./lints.js";

/** A stage after parsing: the AST of a file that parsed cleanly in, its diagnostics out. */
export type CheckStage = (ast: PolicyFile, source: string) => readonly Diagnostic[];

/**
 * The stages run on each file after parsing, in order; a stage runs only when the ones before found
 * no error. Adding a stage is one line here.
 */
export const STAGES: readonly CheckStage[] = [checkAndLint];

/** Names, types and bounds (C2xx); when they hold, the lints (W4xx), which assume names resolve. */
function checkAndLint(ast: PolicyFile): Diagnostic[] {
  const checked = checkPolicy(ast);
  return hasErrors(checked.diagnostics) ? checked.diagnostics : [...checked.diagnostics, ...lintPolicy(ast, checked.schema)];
}

/**
 * Every diagnostic `leash check` reports for one file, sorted by position: parsing (L, P), then
 * checking (C) and, when the policy is valid, the lints (W). Editors and the playground show the
 * same list. `options` may be the file name alone. Never throws for any source text.
 */
export function checkSource(source: string, options: { readonly file?: string } | string = {}): Diagnostic[] {
  const file = typeof options === "string" ? options : options.file;
  const { ast, diagnostics } = parsePolicy(source, { file: file ?? "<policy>" });
  const all = [...diagnostics];
  for (const stage of STAGES) {
    if (hasErrors(all)) break;
    all.push(...stage(ast, source));
  }
  return sortDiagnostics(all);
}
