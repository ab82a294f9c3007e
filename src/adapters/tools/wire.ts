/**
 * A verdict as clients see it: the JSON under `_meta["leash/decision"]` of a refused MCP call (and
 * in the adapters' errors), so a client tells a policy's refusal from a tool's failure and can
 * act on it (ask for the approval a challenge names, stop after a revoke).
 */
import type { Verdict } from "./gate.js";

/** The `_meta` key of a refused call's decision. */
export const DECISION_META_KEY = "leash/decision";

/** The decision of a tool call, JSON all the way down. */
export interface WireDecision {
  readonly effect: "allow" | "deny" | "challenge" | "revoke";
  readonly allowed: boolean;
  readonly tool: string;
  readonly action: string;
  readonly session: string;
  /** Ids of the deciding rules. */
  readonly rules: readonly string[];
  readonly reasons: readonly { readonly rule: string | null; readonly effect: string; readonly message: string; readonly code?: string; readonly line?: number }[];
  /** What a challenge asks for and what satisfies it; which key a revoke ended. */
  readonly obligations: readonly unknown[];
  /** Flag rules that matched in any of the call's decisions. */
  readonly flags: readonly string[];
  readonly errors: readonly { readonly rule: string | null; readonly code: string; readonly message: string }[];
  /** How the user answered a challenge: accept, decline, cancel, unsupported (no elicitation) or failed. */
  readonly answer?: string;
  readonly validUntil: number | null;
  readonly policyHash: string;
  readonly time: number;
}

/** The JSON form of a verdict. */
export function wireDecision(v: Verdict): WireDecision {
  const d = v.decision;
  return {
    effect: v.effect,
    allowed: v.allowed,
    tool: v.tool,
    action: v.action,
    session: v.session,
    rules: [...d.rules],
    reasons: d.reasons.map((r) => ({
      rule: r.rule,
      effect: r.effect,
      message: r.message,
      ...(r.code !== undefined ? { code: r.code } : {}),
      ...(r.span !== undefined ? { line: r.span.line } : {}),
    })),
    obligations: d.obligations.map((o) => ({ ...o, ...(o.kind === "challenge" ? { satisfiedBy: [...o.satisfiedBy] } : {}) })),
    flags: [...new Set(v.decisions.flatMap((x) => x.flags))].sort(),
    errors: d.errors.map((e) => ({ rule: e.rule, code: e.code, message: e.message })),
    ...(v.answer !== undefined ? { answer: v.answer } : {}),
    validUntil: d.validUntil,
    policyHash: d.policyHash,
    time: d.time,
  };
}

/** An MCP `CallToolResult` that refuses a call: `isError`, the reason as text, the decision under `_meta`. */
export interface RefusedCallResult {
  readonly content: readonly { readonly type: "text"; readonly text: string }[];
  readonly isError: true;
  readonly _meta: { readonly [DECISION_META_KEY]: WireDecision };
  readonly [key: string]: unknown;
}

export function refusedCallResult(v: Verdict): RefusedCallResult {
  return { content: [{ type: "text", text: v.message }], isError: true, _meta: { [DECISION_META_KEY]: wireDecision(v) } };
}
