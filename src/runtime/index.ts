/**
 * leash/runtime — decide with a precompiled policy, without the parser: what an application ships
 * to a browser, an edge function or a gateway that never sees `.rules` source.
 *
 * ```ts
 * import { loadCompiledOrThrow } from "leash/runtime";
 * import compiled from "./policy.json";          // written by `leash build policy.rules -o policy.json`
 * const policy = loadCompiledOrThrow(compiled);
 * const { decision, state } = policy.decide(policy.initialState(), request);
 * ```
 * @packageDocumentation
 */

export { VERSION } from "../version.js";

// Loading
export { loadCompiled, loadCompiledOrThrow, PolicyLoadError, compiledDigest, COMPILED_FORMAT, COMPILED_KIND } from "./compiled.js";
export type { CompiledManifest, CompiledPolicy, LoadCompiledOptions, LoadCompiledResult } from "./compiled.js";
export type { PolicyOptions } from "../compile/from-ir.js";

// Deciding
export { Policy } from "./engine.js";
export type {
  AttributeValue,
  Decision,
  DecisionEffect,
  DecisionError,
  DecideResult,
  KeySpec,
  Obligation,
  ObserveResult,
  PolicyState,
  Principal,
  Reason,
  RecheckResult,
  Request,
  Resource,
  Signal,
} from "./types.js";
export { toMillis, validTime } from "./time.js";
export type { Diagnostic, Severity } from "../diagnostics/diagnostic.js";
export type { Span } from "../ast/span.js";
