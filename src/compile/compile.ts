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
  /** The parsed file (also when checking failed), for tools. */
  readonly ast: PolicyFile;
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
  const keyTtlMs = options.keyTtlMs ?? DEFAULT_KEY_TTL;
  const diagnostics: Diagnostic[] = [];
  const finish = (policy: Policy | null, ast: PolicyFile): CompileResult => ({
    policy,
    diagnostics: sortDiagnostics(diagnostics).slice(0, options.maxErrors ?? 100),
    ast,
  });

  const parse: Stage<string, PolicyFile> = {
    name: "parse",
    run: (src, out) => {
      const r = parsePolicy(src, { file });
      out.push(...r.diagnostics);
      return r.ast;
    },
  };
  const check: Stage<PolicyFile, PolicyFile> = {
    name: "check",
    run: (ast, out) => {
      out.push(...checkPolicy(ast).diagnostics);
      return ast;
    },
  };
  const lowerStage: Stage<PolicyFile, PolicyIR> = { name: "lower", run: (ast) => lower(ast, { keyTtlMs }) };

  const ast = parse.run(source, diagnostics);
  if (hasErrors(diagnostics)) return finish(null, ast);
  check.run(ast, diagnostics);
  if (hasErrors(diagnostics)) return finish(null, ast);
  try {
    const ir = lowerStage.run(ast, diagnostics);
    return finish(policyFromIR(ir, contentHash(source), options), ast);
  } catch (e) {
    // A compiler bug must still come out as a diagnostic, never as an exception.
    diagnostics.push(diagnostic("C299", ast.span, `internal compiler error: ${e instanceof Error ? e.message : String(e)}`, "please report this with the policy that caused it"));
    return finish(null, ast);
  }
}

/** An error carrying every diagnostic of a failed compilation, rendered with caret frames. */
export class PolicyCompileError extends Error {
  override readonly name = "PolicyCompileError";
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    source: string,
  ) {
    super(`policy has ${diagnostics.filter((d) => d.severity === "error").length} error(s):\n` + renderDiagnostics(diagnostics, () => source));
  }
}

/** Like `compilePolicy`, but returns the policy or throws a `PolicyCompileError` listing all errors. */
export function compilePolicyOrThrow(source: string, options: CompileOptions = {}): Policy {
  const r = compilePolicy(source, options);
  if (r.policy === null) throw new PolicyCompileError(r.diagnostics, source);
  return r.policy;
}
