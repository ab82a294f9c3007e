import type { PolicyFile } from "../ast/nodes.js";
import { checkPolicy } from "../check/check.js";
import { diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { renderDiagnostics } from "../diagnostics/render.js";
import type { Policy } from "../runtime/engine.js";
import { parsePolicy } from "../syntax/index.js";
import { policyFromIR, type PolicyOptions } from "./from-ir.js";
import { contentHash } from "./hash.js";
import type { PolicyIR } from "./ir.js";
import { lower } from "./lower.js";
import { mergeFiles } from "./merge.js";
import { resolveSources, type PolicySources } from "./sources.js";

export interface CompileOptions extends PolicyOptions {
  /** File name used in diagnostics and spans. */
  readonly file?: string;
  /** Lifetime of state without a window after the last event that reads or writes the key (default 24h). */
  readonly keyTtlMs?: number;
  /** Stop after this many errors (default 100). */
  readonly maxErrors?: number;
}

export interface CompileResult {
  /** The compiled policy, or `null` when there were errors. */
  readonly policy: Policy | null;
  /** Errors and warnings, sorted by position. */
  readonly diagnostics: readonly Diagnostic[];
  /** The parsed file (also when checking failed), for tools; of several files, the merged policy. */
  readonly ast: PolicyFile;
  /**
   * The text of each file by the name its spans carry, for rendering diagnostics: the one file of
   * `compilePolicy`, or every file and library module of `compileSources`.
   */
  readonly sources: ReadonlyMap<string, string>;
}

/** A named compiler stage: one representation to the next, reporting what it finds. */
interface Stage<I, O> {
  readonly name: string;
  run(input: I, out: Diagnostic[]): O;
}

const DEFAULT_KEY_TTL = 24 * 3600 * 1000;

/**
 * Compiles `.rules` source into a frozen `Policy`, in named stages: parse -> check -> lower ->
 * generate. Each stage reports every problem it finds; compilation stops before the next stage
 * when one reported an error. Never throws for any source text.
 */
export function compilePolicy(source: string, options: CompileOptions = {}): CompileResult {
  const file = options.file ?? "<policy>";
  const parsed = parsePolicy(source, { file });
  // A file that imports or uses nothing compiles alone; one with a header goes the way of a policy
  // of several files (its library modules join it; an import, with no files to read, is C285).
  if ((parsed.ast.header?.length ?? 0) > 0) {
    const one = "policy.rules";
    return compileSources({ files: [one], read: (p) => (p === one ? source : undefined), fileName: () => file, imports: false }, options);
  }
  const text = typeof source === "string" ? source : "";
  return compileChecked(parsed.ast, contentHash(text), [...parsed.diagnostics], options, new Map([[file, text]]));
}

/**
 * Compiles a policy of several files (a directory, a list of files, or one file and what it
 * imports) into one `Policy`, in named stages: resolve (read and parse every file, imports and
 * library modules) -> merge -> check -> lower -> generate. Every diagnostic names its file; one
 * about two places (a name defined in two files, an import cycle) names both. Never throws for any
 * file contents; the reader is the only way it reaches a file. `leash/node`'s `loadPolicy` reads
 * from disk.
 */
export function compileSources(sources: PolicySources, options: Omit<CompileOptions, "file"> = {}): CompileResult {
  const diagnostics: Diagnostic[] = [];
  const resolved = resolveSources(sources, { maxErrors: options.maxErrors }, diagnostics);
  const ast = mergeFiles(resolved.files, diagnostics);
  return compileChecked(ast, resolved.hash, diagnostics, options, resolved.texts);
}

/** The stages after parsing (and merging): check -> lower -> generate, stopping at the first that reports an error. */
function compileChecked(ast: PolicyFile, hash: string, diagnostics: Diagnostic[], options: Omit<CompileOptions, "file">, sources: ReadonlyMap<string, string>): CompileResult {
  const keyTtlMs = options.keyTtlMs ?? DEFAULT_KEY_TTL;
  const finish = (policy: Policy | null): CompileResult => ({
    policy,
    diagnostics: sortDiagnostics(diagnostics).slice(0, options.maxErrors ?? 100),
    ast,
    sources,
  });
  const check: Stage<PolicyFile, PolicyFile> = {
    name: "check",
    run: (a, out) => {
      out.push(...checkPolicy(a).diagnostics);
      return a;
    },
  };
  const lowerStage: Stage<PolicyFile, PolicyIR> = { name: "lower", run: (a) => lower(a, { keyTtlMs }) };

  if (hasErrors(diagnostics)) return finish(null);
  check.run(ast, diagnostics);
  if (hasErrors(diagnostics)) return finish(null);
  try {
    const ir = lowerStage.run(ast, diagnostics);
    return finish(policyFromIR(ir, hash, options));
  } catch (e) {
    // A compiler bug must still come out as a diagnostic, never as an exception.
    diagnostics.push(diagnostic("C299", ast.span, `internal compiler error: ${e instanceof Error ? e.message : String(e)}`, "please report this with the policy that caused it"));
    return finish(null);
  }
}

/** An error carrying every diagnostic of a failed compilation, rendered with caret frames. */
export class PolicyCompileError extends Error {
  override readonly name = "PolicyCompileError";
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    source: string | ReadonlyMap<string, string>,
  ) {
    super(`policy has ${diagnostics.filter((d) => d.severity === "error").length} error(s):\n` + renderDiagnostics(diagnostics, (file) => (typeof source === "string" ? source : source.get(file))));
  }
}

/** Like `compilePolicy`, but returns the policy or throws a `PolicyCompileError` listing all errors. */
export function compilePolicyOrThrow(source: string, options: CompileOptions = {}): Policy {
  const r = compilePolicy(source, options);
  if (r.policy === null) throw new PolicyCompileError(r.diagnostics, r.sources);
  return r.policy;
}
