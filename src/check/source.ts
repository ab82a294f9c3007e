import type { HeaderItem, PolicyFile } from "../ast/nodes.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { parsePolicy } from "../syntax/index.js";
import { checkPolicy } from "./check.js";
import { lintPolicy } from "./lints.js";
import { mergeFiles } from "../compile/merge.js";
import { resolveSources, type PolicySources } from "../compile/sources.js";

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

/** How `checkSource` reads what a file joins: its relative imports (library modules need no reader). */
export interface CheckSourceOptions {
  /** The file's name, as spans carry it (default `<policy>`); a relative import is read from its directory. */
  readonly file?: string;
  /**
   * Reads a file a relative `import` names, by its name as spans carry it (`file`'s directory joined
   * with the import's path): its text, or `undefined` when there is none. Without a reader an import
   * is C285. An editor passes one that prefers its open documents to the disk.
   */
  readonly readFile?: (file: string) => string | undefined;
  /**
   * The directory imports may not climb above (C271), as a prefix of `file` (default: `file`'s own
   * directory). An editor passes its workspace folder, `leash check DIR` the directory.
   */
  readonly root?: string;
}

/**
 * Every diagnostic `leash check` reports for one file, sorted by position: parsing (L, P), then
 * checking (C) and, when the policy is valid, the lints (W). A file that uses library modules
 * (`use leash/login`) or imports files is checked with them, merged as `compileSources` merges
 * them: the modules are bundled with leash (no file system, so this runs in a browser), imports are
 * read with `options.readFile`. Diagnostics in another file (a module, an imported file) carry that
 * file's name in their spans. Editors and the playground show the same list. `options` may be the
 * file name alone. Never throws for any source text or reader.
 */
export function checkSource(source: string, options: CheckSourceOptions | string = {}): Diagnostic[] {
  const o: CheckSourceOptions = typeof options === "string" ? { file: options } : options;
  const file = o.file ?? "<policy>";
  const { ast, diagnostics } = parsePolicy(source, { file });
  if ((ast.header?.length ?? 0) > 0) return sortDiagnostics(checkWithHeader(source, file, o));
  const all = [...diagnostics];
  for (const stage of STAGES) {
    if (hasErrors(all)) break;
    all.push(...stage(ast, source));
  }
  return sortDiagnostics(all);
}

/**
 * The diagnostics of a file with a header (`use`, `import`): the resolve and merge stages of
 * `compileSources` over it and what it joins, then the checks and lints of the merged policy.
 */
export function checkWithHeader(source: string, file: string, options: CheckSourceOptions): Diagnostic[] {
  const slash = file.lastIndexOf("/");
  const dir = slash < 0 ? "" : file.slice(0, slash);
  const root = options.root !== undefined && options.root !== "" && file.startsWith(options.root.endsWith("/") ? options.root : `${options.root}/`) ? options.root.replace(/\/+$/, "") : dir;
  const self = root === "" ? file : file.slice(root.length + 1);
  const shown = (path: string) => (path === self ? file : root === "" ? path : `${root}/${path}`);
  const read = options.readFile;
  const sources: PolicySources = {
    files: [self],
    read: (path) => (path === self ? source : read?.(shown(path))),
    fileName: shown,
    imports: read !== undefined,
  };
  const all: Diagnostic[] = [];
  const resolved = resolveSources(sources, {}, all);
  const merged = mergeFiles(resolved.files, all);
  for (const stage of STAGES) {
    if (hasErrors(all)) break;
    all.push(...stage(merged, source));
  }
  return all;
}

/**
 * A diagnostic of another file that `file` joins (a library module, an imported file), to be shown in
 * `file` (an editor shows one file): at the `use` or `import` of `header` that brings the other file
 * in (the first one when it comes in through another file), its message naming the other file and
 * place, its related information holding that place.
 */
export function placeInFile(d: Diagnostic, header: readonly HeaderItem[], file: string): Diagnostic {
  const slash = file.lastIndexOf("/");
  const dir = slash < 0 ? "" : file.slice(0, slash + 1);
  const brings = (h: (typeof header)[number]) => (h.kind === "UseDecl" ? `${h.module.value}.rules` === d.span.file : h.kind === "ImportDecl" && joinPath(dir, h.path.value) === d.span.file);
  const at = header.find(brings) ?? header.find((h) => h.kind === "UseDecl" || h.kind === "ImportDecl") ?? header[0]!;
  const where = `${d.span.file}:${d.span.line}:${d.span.column}`;
  return { ...d, span: at.span, message: `${where}: ${d.message}`, related: [{ message: `${d.code} is here`, span: d.span }, ...(d.related ?? [])] };
}

/** `dir` (ending in `/`, or empty) joined with a relative `/`-separated path, `.` and `..` resolved. */
function joinPath(dir: string, path: string): string {
  const parts: string[] = [];
  for (const part of `${dir}${path}`.split("/")) {
    if (part === ".") continue;
    if (part === ".." && parts.length > 0 && parts[parts.length - 1] !== "") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}
