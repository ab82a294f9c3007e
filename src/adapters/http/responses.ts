import type { PolicyIR } from "../../compile/ir.js";
import type { Policy } from "../../runtime/engine.js";
import type { Decision, Obligation } from "../../runtime/types.js";
import type { HttpRefusal } from "./types.js";

export const PROBLEM_JSON = "application/problem+json";

/** How a refusal is written: what the caller configured. */
export interface RefusalStyle {
  readonly realm: string;
  readonly explain: boolean;
  readonly acrValues: Readonly<Record<string, string>>;
}

/** Which outcome a decision is, for the response. */
export type Outcome = "allow" | "deny" | "limit" | "challenge" | "revoke";

/**
 * The outcome of a decision: a deny is a `limit` (429) when waiting helps — every deciding deny
 * rule reads a `count` or `rate` window, or an allow rule's `limit` is used up — and the decision
 * says when it goes stale (`validUntil`); any other deny is 403.
 */
export function outcomeOf(decision: Decision, policy: Policy): Outcome {
  if (decision.effect !== "deny") return decision.effect;
  if (decision.validUntil === null) return "deny";
  const windowed = windowedRules(policy);
  if (decision.rules.length > 0) return decision.rules.every((r) => windowed.has(r)) ? "limit" : "deny";
  return decision.reasons.some((r) => r.code === "R310") ? "limit" : "deny";
}

/** The refusal for a decision that is not an allow (RFC 9457 problem details). */
export function refusalOf(decision: Decision, outcome: Exclude<Outcome, "allow">, id: string, style: RefusalStyle): HttpRefusal {
  const headers: Record<string, string> = { "content-type": PROBLEM_JSON, "cache-control": "no-store" };
  const reasons = decision.reasons.filter((r) => r.effect !== "allow" || r.code !== undefined);
  const detail = (reasons[0] ?? decision.reasons[0])?.message ?? "the request was refused";
  const body: Record<string, unknown> = { type: "about:blank", title: TITLES[outcome], status: STATUS[outcome], detail, decisionId: id, effect: decision.effect };
  if (outcome === "limit") {
    const seconds = Math.max(1, Math.ceil((decision.validUntil! - decision.time) / 1000));
    headers["retry-after"] = String(seconds);
    body.retryAfter = seconds;
  }
  if (outcome === "challenge") {
    const challenges = decision.obligations.filter((o): o is Extract<Obligation, { kind: "challenge" }> => o.kind === "challenge");
    const acr = [...new Set(challenges.map((c) => style.acrValues[c.challenge] ?? c.challenge))];
    headers["www-authenticate"] = authenticate(style.realm, "insufficient_user_authentication", detail, acr);
    body.challenges = challenges.map((c) => ({ challenge: c.challenge, satisfiedBy: c.satisfiedBy }));
  }
  if (outcome === "revoke") headers["www-authenticate"] = authenticate(style.realm, "invalid_token", "the session was revoked", []);
  if (style.explain) {
    body.rules = decision.rules;
    body.reasons = reasons.map((r) => ({ rule: r.rule, message: r.message, ...(r.code ? { code: r.code } : {}) }));
  } else body.detail = TITLES[outcome];
  return { status: STATUS[outcome], headers, body: JSON.stringify(body) };
}

/** A problem response that no decision made (a request that could not be mapped). */
export function errorRefusal(code: string, message: string, style: RefusalStyle): HttpRefusal {
  const body = { type: "about:blank", title: "Forbidden", status: 403, detail: style.explain ? message : "Forbidden", code };
  return { status: 403, headers: { "content-type": PROBLEM_JSON, "cache-control": "no-store" }, body: JSON.stringify(body) };
}

const STATUS: Readonly<Record<Exclude<Outcome, "allow">, number>> = { deny: 403, limit: 429, challenge: 401, revoke: 401 };
const TITLES: Readonly<Record<Exclude<Outcome, "allow">, string>> = { deny: "Forbidden", limit: "Too Many Requests", challenge: "Unauthorized", revoke: "Unauthorized" };

/** `Bearer realm="leash", error="...", error_description="...", acr_values="mfa"` (RFC 6750, RFC 9470). */
function authenticate(realm: string, error: string, description: string, acr: readonly string[]): string {
  const parts = [`realm=${quoted(realm)}`, `error=${quoted(error)}`, `error_description=${quoted(description)}`];
  if (acr.length > 0) parts.push(`acr_values=${quoted(acr.join(" "))}`);
  return `Bearer ${parts.join(", ")}`;
}

/** A quoted-string of RFC 9110 holding printable ASCII only (header values must stay one line). */
function quoted(s: string): string {
  let out = "";
  for (const ch of s.slice(0, 512)) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else out += c >= 0x20 && c < 0x7f ? ch : "?";
  }
  return `"${out}"`;
}

const windowedCache = new WeakMap<Policy, ReadonlySet<string>>();

/** Ids of the deny rules whose condition reads a `count` or `rate` window. */
function windowedRules(policy: Policy): ReadonlySet<string> {
  let set = windowedCache.get(policy);
  if (set === undefined) {
    const ir: PolicyIR = policy.ir;
    set = new Set(ir.rules.filter((r) => r.effect === "deny" && r.condition !== null && readsWindow(r.condition, ir)).map((r) => r.id));
    windowedCache.set(policy, set);
  }
  return set;
}

function readsWindow(e: PolicyIR["rules"][number]["condition"] & object, ir: PolicyIR): boolean {
  switch (e.t) {
    case "op": {
      const op = ir.ops[e.op]!.op;
      return op === "count" || op === "rate";
    }
    case "and":
    case "or":
      return readsWindow(e.left, ir) || readsWindow(e.right, ir);
    case "not":
      return readsWindow(e.operand, ir);
    case "cmp":
      return readsWindow(e.left, ir) || readsWindow(e.right, ir);
    case "in":
      return readsWindow(e.element, ir) || readsWindow(e.collection, ir);
    case "like":
      return readsWindow(e.subject, ir);
    default:
      return false;
  }
}
