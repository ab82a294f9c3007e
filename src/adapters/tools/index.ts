/** Tool-call guarding shared by every adapter: the mapping, its check, the gate and the wire form. */
export { defineMapping, compileMapping, defaultAction, MappingError } from "./mapping.js";
export type { Locate } from "./mapping.js";
export type { CallScope, MappedCall, MappedField, MappedTool, MappingLiteral, MappingSpec, MappingValue, PrincipalSpec, ToolCall, ToolMapping, ToolRuleSpec } from "./mapping.js";
export { loadMapping, loadMappingOrThrow } from "./mapping-file.js";
export { checkMapping } from "./check.js";
export { createToolGate } from "./gate.js";
export type { AskUser, Challenge, ChallengeAnswer, SessionEnd, ToolGate, ToolGateOptions, Verdict } from "./gate.js";
export { couldEverAllow } from "./reach.js";
export { normalizePath } from "./refs.js";
export type { AuthIdentity, ClientIdentity } from "./refs.js";
export { DECISION_META_KEY, refusedCallResult, wireDecision } from "./wire.js";
export type { RefusedCallResult, WireDecision } from "./wire.js";
