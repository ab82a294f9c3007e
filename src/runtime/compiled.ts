import { syntheticSpan } from "../ast/span.js";
import { policyFromIR, type PolicyOptions } from "../compile/from-ir.js";
import type { PolicyIR } from "../compile/ir.js";
import { LOAD_HELP } from "../diagnostics/load-codes.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { VERSION } from "../version.js";
import { isRecord } from "./attributes.js";
import { canonicalJson, sha256Hex } from "./digest.js";
import type { Policy } from "./engine.js";
import { irProblem } from "./ir-check.js";

/** What `kind` says in every compiled policy. */
export const COMPILED_KIND = "leash-compiled-policy";
/** The version of the compiled format this leash writes and reads. */
export const COMPILED_FORMAT = 1;

/**
 * A precompiled policy, as `leash build` writes it (JSON): the checked IR with what identifies it.
 * `loadCompiled` turns it into a `Policy` without the parser.
 */
export interface CompiledPolicy {
  readonly kind: typeof COMPILED_KIND;
  /** Version of this format. */
  readonly format: typeof COMPILED_FORMAT;
  /** The leash version that built it; only the same version loads it. */
  readonly leash: string;
  /** The policy hash every decision carries (`decision.policyHash`), as `compilePolicy` computes it. */
  readonly hash: string;
  readonly manifest: CompiledManifest;
  readonly ir: PolicyIR;
  /** `sha256:` and the SHA-256 of the canonical JSON of every other field (see `compiledDigest`). */
  readonly digest: string;
}

/** What the policy was built from. */
export interface CompiledManifest {
  /** The source files, each with the SHA-256 of its text. */
  readonly files: readonly { readonly path: string; readonly sha256: string }[];
  /** When it was built (ISO 8601), when the build recorded it (`leash build` does). */
  readonly builtAt?: string;
}

export interface LoadCompiledOptions extends PolicyOptions {
  /** Name of the compiled file, for diagnostics (default `<compiled policy>`). */
  readonly file?: string;
  /**
   * The digest the policy must have (`sha256:...`, as in its `digest` field). The digest alone
   * detects a file edited without rebuilding it; pinning it (in the application's code or
   * configuration) also refuses a file someone rebuilt.
   */
  readonly digest?: string;
}

export interface LoadCompiledResult {
  /** The policy, or `null` when the compiled form was refused. */
  readonly policy: Policy | null;
  /** Why it was refused (R320-R325); empty when it loaded. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * The digest of a compiled policy: `sha256:` and the SHA-256 of the canonical JSON (keys sorted at
 * every level, no whitespace) of all its fields but `digest`. Key order and layout of the file do
 * not change it; any change of a value does.
 */
export function compiledDigest(compiled: Readonly<Record<string, unknown>>): string {
  const { digest: _digest, ...body } = compiled;
  return `sha256:${sha256Hex(canonicalJson(body))}`;
}

/**
 * Builds a `Policy` from a compiled policy (the JSON text `leash build` wrote, or the value it
 * parses to), without parsing or checking source: the entry point of `leash/runtime`. Refuses,
 * with a diagnostic and `policy: null`, a value that is not a compiled policy (R320), another
 * format version (R321), another leash version (R322), a file changed after it was built (R323),
 * one whose digest is not the pinned `options.digest` (R324), and an IR the evaluators cannot run
 * (R325). Never throws.
 */
export function loadCompiled(json: unknown, options: LoadCompiledOptions = {}): LoadCompiledResult {
  const span = syntheticSpan(options.file ?? "<compiled policy>");
  const refuse = (code: keyof typeof LOAD_HELP, message: string): LoadCompiledResult => ({ policy: null, diagnostics: [diagnostic(code, span, message, LOAD_HELP[code])] });
  // The policy keeps its own copy: what was checked is what runs, whatever the caller does with
  // its value later, and a value with getters, proxies or cycles is refused here, not mid-check.
  let value: unknown;
  try {
    value = JSON.parse(typeof json === "string" ? json : (JSON.stringify(json) ?? "null"));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return refuse("R320", typeof json === "string" ? `not a compiled policy: the text is not JSON (${why})` : `not a compiled policy: the value is not plain JSON data (${why})`);
  }
  if (!isRecord(value) || value.kind !== COMPILED_KIND) {
    return refuse("R320", `not a compiled policy: expected an object with "kind": "${COMPILED_KIND}"`);
  }
  if (value.format !== COMPILED_FORMAT) {
    return refuse("R321", `compiled format ${JSON.stringify(value.format)} is not supported: this leash reads format ${COMPILED_FORMAT}`);
  }
  if (value.leash !== VERSION) {
    return refuse("R322", `the policy was compiled by leash ${JSON.stringify(value.leash)}, this is leash ${VERSION}`);
  }
  const digest = typeof value.digest === "string" ? value.digest : "";
  const actual = compiledDigest(value);
  if (digest !== actual) {
    return refuse("R323", `the compiled policy was modified after it was built: its digest is ${JSON.stringify(digest)}, its content hashes to ${actual}`);
  }
  if (options.digest !== undefined && options.digest !== digest) {
    return refuse("R324", `the compiled policy is not the one expected: its digest is ${digest}, expected ${options.digest}`);
  }
  const problem = typeof value.hash === "string" && /^[0-9a-f]{16}$/.test(value.hash) ? checkManifest(value.manifest) ?? irProblem(value.ir) : "at hash: expected 16 hex digits";
  if (problem !== null) return refuse("R325", `invalid compiled policy: ${problem}`);
  try {
    return { policy: policyFromIR(value.ir as PolicyIR, value.hash as string, options), diagnostics: [] };
  } catch (e) {
    return refuse("R325", `invalid compiled policy: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function checkManifest(m: unknown): string | null {
  if (!isRecord(m) || !Array.isArray(m.files)) return "at manifest: expected an object with files";
  const bad = m.files.findIndex((f) => !isRecord(f) || typeof f.path !== "string" || typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256));
  return bad >= 0 ? `at manifest.files[${bad}]: expected {path, sha256}` : null;
}

/** An error carrying the diagnostics of a refused compiled policy. */
export class PolicyLoadError extends Error {
  override readonly name = "PolicyLoadError";
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => `${d.span.file}: error[${d.code}]: ${d.message}`).join("\n"));
  }
}

/** Like `loadCompiled`, but returns the policy or throws a `PolicyLoadError`. */
export function loadCompiledOrThrow(json: unknown, options: LoadCompiledOptions = {}): Policy {
  const r = loadCompiled(json, options);
  if (r.policy === null) throw new PolicyLoadError(r.diagnostics);
  return r.policy;
}
