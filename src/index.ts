/**
 * leash — policy-as-code for the action layer.
 *
 * ```ts
 * import { compilePolicyOrThrow } from "leash";
 * const policy = compilePolicyOrThrow(source, { file: "agent.rules" });
 * let state = policy.initialState();
 * const { decision, state: next } = policy.decide(state, {
 *   principal: { kind: "agent", id: "deploy-bot" }, action: "build.validate",
 *   resource: { type: "repo", path: "repo/app" }, time: Date.now(),
 * });
 * ```
 * @packageDocumentation
 */

export { VERSION } from "./version.js";

// Compiling
export { compilePolicy, compilePolicyOrThrow, compileSources, PolicyCompileError } from "./compile/compile.js";
export type { PolicySources } from "./compile/sources.js";
export { LIBRARY_MODULE_NAMES, libraryModule } from "./library/index.js";
export type { CompileOptions, CompileResult } from "./compile/compile.js";
export type { PolicyOptions } from "./compile/from-ir.js";

// Compiled policies (leash build; leash/runtime loads them without the parser)
export { buildCompiled } from "./compile/build.js";
export type { BuildResult } from "./compile/build.js";
export { loadCompiled, loadCompiledOrThrow, PolicyLoadError, compiledDigest, COMPILED_FORMAT, COMPILED_KIND } from "./runtime/compiled.js";
export type { CompiledManifest, CompiledPolicy, LoadCompiledOptions, LoadCompiledResult } from "./runtime/compiled.js";

// Deciding
export { Policy } from "./runtime/engine.js";
// What a policy does over a state besides deciding: free functions, so that a bundle that only decides leaves them out.
export { observe, recheck, revoke, reinstate, keySpecText } from "./runtime/operations.js";
export { revocations, partitions } from "./runtime/inspect.js";
export { migrateState } from "./runtime/migrate.js";
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
  Inspection,
  Request,
  Resource,
  Signal,
} from "./runtime/types.js";
export { toMillis, validTime } from "./runtime/time.js";
export { replayTrace, parseJsonLines, readTrace } from "./runtime/trace.js";
export type { TraceEvent, TraceStep, Expectation } from "./runtime/trace.js";

// Explaining a decision (what `leash explain` prints)
export { explainRequest } from "./explain/explain.js";
export type { AttributeRead, ClauseExplanation, Explanation, PartExplanation, ProbeValue, RuleExplanation, RuleStatus } from "./explain/explain.js";
export { renderExplanation } from "./explain/render.js";

// Holding state for a caller: the Guard and its stores
export { createGuard, manualClock, systemClock } from "./guard/index.js";
export type { DecideOptions, Guard, GuardClock, GuardEvent, GuardOptions, ShadowOptions, GuardRequest, GuardSignal, Hold, HoldCause, HoldChange, HoldOptions, ManualClock, ReinstateOutcome, RevokeOutcome, SignalOutcome } from "./guard/index.js";
export { memoryStore } from "./stores/memory.js";
export type { MemoryStoreOptions } from "./stores/memory.js";
export { StoreError } from "./stores/store.js";
export type { PartitionData, Step, StepResult, Store } from "./stores/store.js";

// Syntax, checking, formatting
export { parsePolicy, KEYWORDS } from "./syntax/index.js";
export type { ParseResult, ParseOptions, Keyword } from "./syntax/index.js";
export { checkPolicy } from "./check/check.js";
export type { CheckResult } from "./check/check.js";
export { checkSource, placeInFile } from "./check/source.js";
export type { CheckSourceOptions } from "./check/source.js";
export { lintPolicy } from "./check/lints.js";
export type { LintOptions } from "./check/lints.js";
export { printPolicy, formatSource } from "./format/index.js";
export type { FormatResult } from "./format/index.js";
export type * from "./ast/nodes.js";
export type { Span } from "./ast/span.js";

// Diagnostics
export type { Diagnostic, Severity } from "./diagnostics/diagnostic.js";
export { renderDiagnostic, renderDiagnostics } from "./diagnostics/render.js";
export type { RenderOptions } from "./diagnostics/render.js";
export { CODES } from "./diagnostics/codes.js";
export type { Code, CodeInfo } from "./diagnostics/codes.js";
