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
export function buildCompiled(source: string, options: Omit<CompileOptions, "maxKeys"> = {}): BuildResult {
  const result = compilePolicy(source, options);
  if (result.policy === null) return { ...result, compiled: null };
  const body = {
    kind: COMPILED_KIND,
    format: COMPILED_FORMAT,
    leash: VERSION,
    hash: result.policy.hash,
    manifest: { files: [{ path: options.file ?? "<policy>", sha256: sha256Hex(source) }] },
    // Through JSON once, so the form holds exactly what a reader of the file will see.
    ir: JSON.parse(JSON.stringify(result.policy.ir)) as CompiledPolicy["ir"],
  } as const;
  return { ...result, compiled: { ...body, digest: compiledDigest(body) } };
}
