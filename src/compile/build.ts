import { COMPILED_FORMAT, COMPILED_KIND, compiledDigest, type CompiledPolicy } from "../runtime/compiled.js";
import { sha256Hex } from "../runtime/digest.js";
import { VERSION } from "../version.js";
import { compilePolicy, type CompileOptions, type CompileResult } from "./compile.js";

export interface BuildResult extends CompileResult {
  /** The compiled form, or `null` when the policy has errors. */
  readonly compiled: CompiledPolicy | null;
}

/**
 * Compiles a policy and returns its compiled form (what `leash build` writes): the IR with the
 * format and leash versions, the policy hash, a manifest of the source file and the digest.
 * `loadCompiled` (in `leash/runtime`) builds the same `Policy` from it without the parser.
 */
export function buildCompiled(source: string, options: Omit<CompileOptions, "maxKeys"> & BuildOptions = {}): BuildResult {
  const { builtAt, ...compile } = options;
  const result = compilePolicy(source, compile);
  return compiledFrom(result, builtAt === undefined ? {} : { builtAt });
}

/** What a build records beyond the policy. */
export interface BuildOptions {
  /** When it was built (an ISO 8601 time, `leash build` writes the current time); part of the digest. Default: not recorded. */
  readonly builtAt?: string;
}

/**
 * The compiled form of a compiled policy of one or several files (a bundle): its manifest lists
 * every file and library module it was compiled from with the SHA-256 of its text, sorted by name,
 * and the build time when given. `loadCompiled` refuses a bundle whose digest does not match (R323).
 */
export function compiledFrom(result: CompileResult, options: BuildOptions = {}): BuildResult {
  if (result.policy === null) return { ...result, compiled: null };
  const files = [...result.sources].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, text]) => ({ path, sha256: sha256Hex(text) }));
  const body = {
    kind: COMPILED_KIND,
    format: COMPILED_FORMAT,
    leash: VERSION,
    hash: result.policy.hash,
    manifest: options.builtAt === undefined ? { files } : { files, builtAt: options.builtAt },
    // Through JSON once, so the form holds exactly what a reader of the file will see.
    ir: JSON.parse(JSON.stringify(result.policy.ir)) as CompiledPolicy["ir"],
  } as const;
  return { ...result, compiled: { ...body, digest: compiledDigest(body) } };
}
