import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { syntheticSpan } from "../ast/span.js";
import { compileSources, type CompileOptions, type CompileResult } from "../compile/compile.js";
import type { PolicySources } from "../compile/sources.js";
import { CODES } from "../diagnostics/codes.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";

/** A compiled policy with the text that was read: of a lone file, its text (empty when it could not be read). */
export type LoadPolicyResult = CompileResult & { readonly source: string };

/** The file that makes a directory one policy for `leash check` and `leash fmt` (see docs/policies.md). */
export const POLICY_MANIFEST = "leash.policy.json";

/** How `loadPolicy` reads; tests and the CLI pass their own `readFile`. */
export interface LoadOptions extends Omit<CompileOptions, "file"> {
  /** Reads a file (an absolute path); default `fs.readFileSync(path, "utf8")`. */
  readonly readFile?: (path: string) => string;
  /** Relative paths are relative to this directory; default `process.cwd()`. */
  readonly cwd?: string;
}

/**
 * Reads and compiles a policy: a `.rules` file (with the files it imports, relative to its
 * directory), a directory (every `.rules` file in it and its subdirectories, or the files its
 * `leash.policy.json` lists; imports stay inside it) or a list of files (their common directory is
 * the root). Spans name each file by the path given joined to its place in the root. A file or
 * directory that cannot be read is a C298 diagnostic, not an exception.
 */
export function loadPolicy(path: string | readonly string[], options: LoadOptions = {}): LoadPolicyResult {
  const { readFile = (p: string) => readFileSync(p, "utf8"), cwd = process.cwd(), ...compile } = options;
  const found = policySources(path, cwd, readFile);
  if ("problem" in found) {
    return { policy: null, diagnostics: [found.problem], ast: { kind: "PolicyFile", span: found.problem.span, items: [], comments: [] }, sources: new Map(), source: "" };
  }
  const r = compileSources(found.sources, compile);
  return { ...r, source: r.sources.size === 1 ? [...r.sources.values()][0]! : "" };
}

/** The sources of a policy on disk (see `loadPolicy`), or the problem that stops reading it. */
export function policySources(path: string | readonly string[], cwd: string, readFile: (path: string) => string): { sources: PolicySources } | { problem: Diagnostic } {
  const paths = typeof path === "string" ? [path] : [...path];
  if (paths.length === 0) return { problem: diagnostic("C298", syntheticSpan("<policy>"), "no files given", "name a .rules file, a directory or a list of files") };
  const entries: { shown: string; abs: string; directory: boolean }[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let directory: boolean;
    try {
      directory = statSync(abs).isDirectory();
    } catch (e) {
      return { problem: diagnostic("C298", syntheticSpan(p), `cannot read ${p}: ${errorCode(e)}`, "check the path") };
    }
    entries.push({ shown: p, abs, directory });
  }
  const read = (rootAbs: string) => (rel: string) => {
    try {
      return readFile(join(rootAbs, ...rel.split("/")));
    } catch {
      return undefined;
    }
  };
  if (entries.length === 1 && entries[0]!.directory) {
    const { shown, abs } = entries[0]!;
    const listed = manifestFiles(abs, shown, readFile);
    if ("problem" in listed) return listed;
    return { sources: { files: listed.files, read: read(abs), root: trimSlash(shown) } };
  }
  // Files (and directories) in a list: their common directory is the root.
  const files: string[] = [];
  for (const e of entries) {
    if (e.directory) files.push(...rulesFilesUnder(e.abs));
    else files.push(e.abs);
  }
  const rootAbs = commonDir(files.map((f) => dirname(f)));
  const rel = (f: string) => relative(rootAbs, f).split(sep).join("/");
  const shownRoot = entries.length === 1 ? dirname(entries[0]!.shown) : relative(cwd, rootAbs) || ".";
  return { sources: { files: files.map(rel), read: read(rootAbs), root: shownRoot === "." ? "" : shownRoot } };
}

/** The files of a policy directory: its manifest's `files` (each a file or a directory), else every `.rules` file under it. */
function manifestFiles(dir: string, shown: string, readFile: (path: string) => string): { files: string[] } | { problem: Diagnostic } {
  const at = join(dir, POLICY_MANIFEST);
  let text: string | undefined;
  try {
    text = readFile(at);
  } catch {
    text = undefined;
  }
  const under = (d: string) => rulesFilesUnder(d).map((f) => relative(dir, f).split(sep).join("/"));
  if (text === undefined) return { files: under(dir) };
  const file = `${trimSlash(shown)}/${POLICY_MANIFEST}`;
  const bad = (why: string) => ({ problem: diagnostic("C284", syntheticSpan(file), `${file}: ${why}`, CODES.C284.help) });
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    return bad("not JSON");
  }
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) return bad("not a JSON object");
  const unknown = Object.keys(manifest).filter((k) => k !== "files");
  if (unknown.length > 0) return bad(`unknown field ${JSON.stringify(unknown[0])}`);
  const listed = (manifest as { files?: unknown }).files;
  if (listed === undefined) return { files: under(dir) };
  if (!Array.isArray(listed) || !listed.every((f): f is string => typeof f === "string")) return bad('"files" is not a list of paths');
  const files: string[] = [];
  for (const f of listed) {
    const abs = resolve(dir, f);
    if (relative(dir, abs).startsWith("..")) return bad(`${JSON.stringify(f)} is outside the policy's directory`);
    let directory = false;
    try {
      directory = statSync(abs).isDirectory();
    } catch {
      // a missing file is reported when it is read (C270)
    }
    if (directory) files.push(...under(abs));
    else files.push(relative(dir, abs).split(sep).join("/"));
  }
  return { files };
}

/** Every `.rules` file under a directory, sorted, skipping dot directories and node_modules; each real file once. */
export function rulesFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (d: string) => {
    let real: string;
    try {
      real = realpathSync(d);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith(".") || name === "node_modules") continue;
      const p = join(d, name);
      let directory: boolean;
      try {
        directory = statSync(p).isDirectory();
      } catch {
        continue;
      }
      if (directory) walk(p);
      else if (name.endsWith(".rules")) {
        const r = realpathSync(p);
        if (!seen.has(r)) {
          seen.add(r);
          out.push(p);
        }
      }
    }
  };
  walk(dir);
  return out;
}

/** Whether a directory is one policy of several files: it holds a `leash.policy.json`. */
export function isPolicyDirectory(dir: string): boolean {
  try {
    return statSync(join(dir, POLICY_MANIFEST)).isFile();
  } catch {
    return false;
  }
}

function commonDir(dirs: readonly string[]): string {
  let common = dirs[0] ?? ".";
  for (const d of dirs.slice(1)) while (common !== dirname(common) && !(d === common || d.startsWith(common + sep))) common = dirname(common);
  return common;
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p === "." ? "" : p;
}

export function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? "EIO";
}

