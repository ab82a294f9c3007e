import type { ImportDecl, ParamValue, PolicyFile, UseDecl } from "../ast/nodes.js";
import { syntheticSpan, type Span } from "../ast/span.js";
import { CODES } from "../diagnostics/codes.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { suggestionHelp } from "../diagnostics/suggest.js";
import { formatLiteral } from "../format/lexical.js";
import { libraryModule, LIBRARY_MODULE_NAMES, moduleFileName } from "../library/index.js";
import { parsePolicy } from "../syntax/index.js";
import { contentHash } from "./hash.js";
import { dirOf, displayPath, importPathProblem, normalizePath } from "./paths.js";

/**
 * The files of a policy. Paths are relative to the policy's root and `/`-separated; `read` is the
 * only way the compiler reaches a file, so it reads nothing else (no network, nothing outside the
 * root: an import that climbs above it is refused before anything is read).
 */
export interface PolicySources {
  /** The files that make up the policy, root-relative (`areas/login.rules`). Imports add the files they name. */
  readonly files: readonly string[];
  /** The text of a root-relative path, or `undefined` when there is no such file. */
  readonly read: (path: string) => string | undefined;
  /** How spans name the root (`examples/team`), joined to each path with `/`. Default: paths as they are. */
  readonly root?: string;
  /** How spans name a file, instead of `root` joined to its path. */
  readonly fileName?: (path: string) => string;
  /** False for a policy given as one text: an import is then C285 (there is no file to read). Default true. */
  readonly imports?: boolean;
}

/** The files of a policy read and parsed, with imports and library modules resolved. */
export interface ResolvedSources {
  /** Each file's AST in merge order: the given files, each file's imports after it, modules where first used. */
  readonly files: readonly PolicyFile[];
  /** Each file's text by the name its spans carry (library modules as `leash/NAME.rules`). */
  readonly texts: ReadonlyMap<string, string>;
  /** The policy's version: a content hash over every file's name and text (a lone file: of its text). */
  readonly hash: string;
}

interface Edge {
  readonly to: string;
  readonly span: Span;
}

/**
 * The resolve stage: reads the policy's files and every file they import, parses each once, and
 * loads the library modules they use with the parameters set there. Reports, each at the import or
 * use and naming the other place: a missing file (C270), a path that climbs above the root (C271),
 * a cycle of imports (C272), an unknown module (C273), a path that is not a relative `.rules` path
 * (C274), a module used twice with different parameters (C278), and a file of the policy that cannot
 * be read (C270 at the file).
 */
export function resolveSources(sources: PolicySources, parseOptions: { readonly maxErrors?: number }, out: Diagnostic[]): ResolvedSources {
  const root = sources.root ?? "";
  const shown = sources.fileName ?? ((path: string) => displayPath(root, path));
  const files: PolicyFile[] = [];
  const texts = new Map<string, string>();
  const edges = new Map<string, Edge[]>();
  const seen = new Set<string>();
  const uses = new Map<string, UseDecl>();
  const queue: { path: string; from: Span | null }[] = [];
  const read = (path: string): string | undefined => {
    try {
      const text = sources.read(path);
      return typeof text === "string" ? text : undefined;
    } catch {
      return undefined;
    }
  };
  const enqueue = (path: string, from: Span | null) => {
    if (seen.has(path)) return;
    seen.add(path);
    queue.push({ path, from });
  };
  for (const f of sources.files) {
    const path = normalizePath(f);
    if (path === null || path === "") out.push(diagnostic("C271", syntheticSpan(f), `${f} is not inside the policy's root`, CODES.C271.help));
    else enqueue(path, null);
  }
  const addModule = (use: UseDecl) => {
    const name = use.module.value;
    const first = uses.get(name);
    if (first !== undefined) {
      if (paramsText(first.params) !== paramsText(use.params)) {
        out.push({
          ...diagnostic("C278", use.span, `\`${name}\` is used with other parameters in ${first.span.file}`, CODES.C278.help),
          related: [{ message: `used with ${paramsText(first.params) || "its defaults"} here`, span: first.span }],
        });
      }
      return;
    }
    const source = libraryModule(name);
    if (source === undefined) {
      out.push(diagnostic("C273", use.module.span, `there is no library module \`${name}\``, suggestionHelp(name, LIBRARY_MODULE_NAMES, CODES.C273.help)));
      return;
    }
    uses.set(name, use);
    const file = moduleFileName(name);
    const r = parsePolicy(source, { file, params: use.params, ...parseOptions });
    out.push(...r.diagnostics);
    texts.set(file, source);
    files.push(r.ast);
    for (const h of r.ast.header ?? []) if (h.kind === "UseDecl") addModule(h);
  };

  while (queue.length > 0) {
    const { path, from } = queue.shift()!;
    const file = shown(path);
    const text = read(path);
    if (text === undefined) {
      if (from === null) out.push(diagnostic("C270", syntheticSpan(file), `cannot read ${file}`, "check the path: the file is one of the policy's"));
      continue;
    }
    texts.set(file, text);
    const r = parsePolicy(text, { file, ...parseOptions });
    out.push(...r.diagnostics);
    files.push(r.ast);
    const fileEdges: Edge[] = [];
    edges.set(path, fileEdges);
    for (const h of r.ast.header ?? []) {
      if (h.kind === "UseDecl") addModule(h);
      else if (h.kind === "ImportDecl") {
        if (sources.imports === false) {
          out.push(diagnostic("C285", h.span, `\`${h.path.value}\` cannot be imported: the policy was given as one text`, CODES.C285.help));
          continue;
        }
        const target = importTarget(h, path, shown, out);
        if (target === null) continue;
        if (read(target) === undefined) {
          out.push({
            ...diagnostic("C270", h.path.span, `${shown(target)} does not exist`, CODES.C270.help),
            related: [{ message: `the import names ${shown(target)}`, span: syntheticSpan(shown(target)) }],
          });
          continue;
        }
        fileEdges.push({ to: target, span: h.path.span });
        enqueue(target, h.path.span);
      }
    }
  }
  reportCycles(edges, shown, out);
  const ordered = [...texts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = ordered.length === 1 && uses.size === 0 ? contentHash(ordered[0]![1]) : contentHash(ordered.map(([name, text]) => `${name}\u0000${contentHash(text)}`).join("\n"));
  return { files, texts, hash };
}

/** The root-relative path an import names, or null (reported) when it names none the policy may read. */
function importTarget(h: ImportDecl, from: string, shown: (p: string) => string, out: Diagnostic[]): string | null {
  const raw = h.path.value;
  const problem = importPathProblem(raw);
  if (problem !== null) {
    out.push(diagnostic("C274", h.path.span, `\`${raw}\` is not an import path: ${problem}`, CODES.C274.help));
    return null;
  }
  const dir = dirOf(from);
  const target = normalizePath(dir === "" ? raw : `${dir}/${raw}`);
  if (target === null) {
    out.push({
      ...diagnostic("C271", h.path.span, `\`${raw}\` leaves the policy's root`, CODES.C271.help),
      related: [{ message: "the policy's root", span: syntheticSpan(shown("")) }],
    });
    return null;
  }
  return target;
}

/** C272 once per cycle, at the import that closes it, with each other import of the cycle as related. */
function reportCycles(edges: ReadonlyMap<string, readonly Edge[]>, shown: (p: string) => string, out: Diagnostic[]): void {
  const state = new Map<string, "open" | "done">();
  const stack: { path: string; via: Edge | null }[] = [];
  const reported = new Set<string>();
  const visit = (path: string, via: Edge | null) => {
    state.set(path, "open");
    stack.push({ path, via });
    for (const e of edges.get(path) ?? []) {
      const s = state.get(e.to);
      if (s === "open") {
        const at = stack.findIndex((f) => f.path === e.to);
        const cycle = stack.slice(at);
        const key = cycle.map((f) => f.path).sort().join("\n");
        if (reported.has(key)) continue;
        reported.add(key);
        const chain = [...cycle.map((f) => shown(f.path)), shown(e.to)].join(" -> ");
        const related = cycle.slice(1).map((f) => ({ message: `${f.via!.span.file} imports ${shown(f.path)}`, span: f.via!.span }));
        out.push({ ...diagnostic("C272", e.span, `import cycle: ${chain}`, CODES.C272.help), related });
      } else if (s === undefined) visit(e.to, e);
    }
    stack.pop();
    state.set(path, "done");
  };
  for (const path of edges.keys()) if (!state.has(path)) visit(path, null);
}

/** A `use`'s parameters as one comparable text (`a: 1, b: 5m`, sorted by name). */
function paramsText(params: readonly ParamValue[]): string {
  return params
    .map((p) => `${p.name.value}: ${formatLiteral(p.value)}`)
    .sort()
    .join(", ");
}
