import { statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { compilePolicy, compileSources, type CompileOptions, type CompileResult } from "../compile/compile.js";
import { displayPath } from "../compile/paths.js";
import type { PolicyFile } from "../ast/nodes.js";
import { bindParameters } from "../ast/strip.js";
import { checkPolicy } from "../check/check.js";
import { printPolicy } from "../format/index.js";
import { lintPolicy } from "../check/lints.js";
import { hasErrors, sortDiagnostics } from "../diagnostics/diagnostic.js";
import { renderDiagnostics } from "../diagnostics/render.js";
import { loadPolicy } from "../node/load.js";
import { displayName, readText, STDIN, stderrColor, type CliIO } from "./io.js";

/** A compiled policy argument, with the text of its one file when it is one file (for the commands that show source). */
export type PolicyArgument = CompileResult & { readonly name: string };

/**
 * Compiles a POLICY argument: `-` (standard input, one text), a `.rules` file with the files it
 * imports (relative to its directory, which is the root) or a directory (one policy of every
 * `.rules` file in it, see `loadPolicy`). Files are read through `io`. A file that does not exist
 * is a usage error, as before.
 */
export function compilePolicyArgument(io: CliIO, path: string, options: Omit<CompileOptions, "file"> = {}): PolicyArgument {
  const name = displayName(path);
  if (path !== STDIN && isDirectory(resolve(io.cwd, path))) {
    return { ...loadPolicy(path, { ...options, cwd: io.cwd, readFile: io.readFile }), name };
  }
  const source = readText(io, path);
  if (path === STDIN) return { ...compilePolicy(source, { ...options, file: name }), name };
  const entry = basename(path);
  const rootAbs = dirname(resolve(io.cwd, path));
  const root = dirname(path) === "." ? "" : dirname(path);
  const r = compileSources(
    {
      files: [entry],
      read: (p) => (p === entry ? source : io.readFile(resolve(rootAbs, p))),
      fileName: (p) => (p === entry ? name : displayPath(root, p)),
    },
    options,
  );
  return { ...r, name };
}

/**
 * One text that stands for a compiled policy, for the commands that work on source text (explain's
 * probes, test, diff): the text of its one file, or for a policy of several files (or one using a
 * library module) the merged policy printed with its parameters bound. With it, the AST to use:
 * the file's, or the merged one with its parameters bound (every node keeps its own file and place).
 */
export function policyAsOneText(compiled: CompileResult): { readonly source: string; readonly ast: PolicyFile } {
  if (compiled.sources.size === 1 && (compiled.ast.header?.length ?? 0) === 0) return { source: [...compiled.sources.values()][0]!, ast: compiled.ast };
  const ast = bindParameters(compiled.ast);
  return { source: printPolicy(ast), ast };
}

/** The diagnostics of a policy argument rendered with their files' source, or "" when there are none. */
export function renderPolicyDiagnostics(io: CliIO, compiled: CompileResult): string {
  return compiled.diagnostics.length === 0 ? "" : renderDiagnostics(compiled.diagnostics, (f) => compiled.sources.get(f), { color: stderrColor(io) }) + "\n";
}

/**
 * What `leash check` reports for a policy of several files (a policy directory, or a file with
 * imports or library modules): every diagnostic of compiling it and, when it has no errors, the
 * lints of the merged policy. Sorted by file and position.
 */
export function checkPolicyArgument(io: CliIO, path: string): PolicyArgument {
  const compiled = compilePolicyArgument(io, path);
  if (hasErrors(compiled.diagnostics)) return compiled;
  const lints = lintPolicy(compiled.ast, checkPolicy(compiled.ast).schema);
  return { ...compiled, diagnostics: sortDiagnostics([...compiled.diagnostics, ...lints]) };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
