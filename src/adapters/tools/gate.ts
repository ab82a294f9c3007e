/**
 * The tool gate: the one decision path every adapter uses (the MCP server wrapper, the MCP proxy,
 * the AI SDK and LangChain adapters). A call is mapped to requests, each is decided by the Guard,
 * a challenge is put to the user when the adapter can ask, a revoke ends the session. The gate
 * never throws and never answers "allowed" unless every request of the call was allowed.
 */
import { keySpecText } from "../../runtime/operations.js";
import type { Guard, GuardRequest, Hold, HoldChange } from "../../guard/types.js";
import { changeEnds } from "../../guard/holds.js";
import type { Decision, DecisionEffect, Obligation } from "../../runtime/types.js";
import type { CallScope, ToolCall, ToolMapping } from "./mapping.js";
import { couldEverAllow } from "./reach.js";

/** How the user answered a challenge (`unsupported`: the client cannot be asked; `failed`: no answer came). */
export type ChallengeAnswer = "accept" | "decline" | "cancel" | "unsupported" | "failed";

/** What a challenge asks the user, for the adapter that asks. */
export interface Challenge {
  readonly tool: string;
  readonly action: string;
  readonly session: string;
  /** One line for the user: what the call is and what the policy asks for. */
  readonly message: string;
  readonly obligations: readonly Extract<Obligation, { kind: "challenge" }>[];
  readonly decision: Decision;
  /** Aborted when the gate stops waiting for the answer. */
  readonly signal: AbortSignal;
}

/** Puts a challenge to the user. Resolving anything but `accept` leaves the call unallowed. */
export type AskUser = (challenge: Challenge) => Promise<"accept" | "decline" | "cancel">;

/** The outcome of one tool call. */
export interface Verdict {
  /** True only when every request of the call was allowed: run the tool. */
  readonly allowed: boolean;
  /** The effect that stands: `allow`, or the first effect that was not. */
  readonly effect: DecisionEffect;
  readonly tool: string;
  /** The action the call was decided as (empty when the mapping has none for the tool). */
  readonly action: string;
  readonly session: string;
  /** The decision that settled the call: the first that was not allow, else the last allow. */
  readonly decision: Decision;
  /** Every decision the call took, in order (one per `each` element, one more after a challenge). */
  readonly decisions: readonly Decision[];
  /** The request `decision` decided (absent when the call could not be mapped). */
  readonly request?: GuardRequest;
  /** Set when a challenge was met: how it was answered. */
  readonly answer?: ChallengeAnswer;
  /** One line for the caller (and the model): why the call runs or does not. */
  readonly message: string;
}

/** Why a session ended. */
export interface SessionEnd {
  readonly session: string;
  readonly reason: string;
  /** `revoke`: a revoke decision; `hold`: a held decision turned; `api`: the host ended it. */
  readonly cause: "revoke" | "hold" | "api";
  readonly time: number;
  readonly decision?: Decision;
}

export interface ToolGateOptions {
  readonly guard: Guard;
  readonly mapping: ToolMapping;
  /** Called with every call's verdict (its decisions carry the flags): a decision log. Exceptions are ignored. */
  readonly onToolCall?: (verdict: Verdict) => void;
  /** Called once when a session ends, after later calls are already denied. Exceptions are ignored. */
  readonly onSessionEnd?: (end: SessionEnd) => void;
  /** Longest wait for the user's answer to a challenge (ms, default 300,000). */
  readonly challengeTimeoutMs?: number;
  /** Clock for session ends (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Keep each session's latest allowed decision under watch (`guard.hold`, default true): when it
   * turns to deny or revoke — the session or principal was revoked (R307) by a `revoke signal` rule
   * on a risk signal, by an operator or a revoke decision, on this instance or another sharing the
   * store; a grant ran out; a revoke or deny rule now matches it — the session ends (cause `hold`)
   * with the new decision's reason, and a call running then is answered with that reason instead
   * of its result. A recheck never counts the held call against itself, so a `count(...) >= 3`
   * rule does not end the session at its third allowed call. Two turns do not end it: a hold that
   * only lost the store (`unavailable`, retried), and one the policy's replacement turned to deny
   * (decided afresh as a new request: its limit must have room again), which leaves each later
   * call to be decided, and refused, on its own. A revocation ends it whatever caused the recheck.
   */
  readonly holdSessions?: boolean;
  /** Most sessions held at once; the least recently used is released beyond it (default 10,000). */
  readonly maxHeldSessions?: number;
}

export interface ToolGate {
  readonly guard: Guard;
  readonly mapping: ToolMapping;
  /** Decides a call; `ask` puts challenges to the user (absent: a challenge is not allowed). */
  decide(call: ToolCall, scope: CallScope, ask?: AskUser): Promise<Verdict>;
  /**
   * Ends a session: every later call in it is denied with the reason, the Guard records the
   * session as revoked, and `onSessionEnd` is told. The one place a session ends.
   */
  endSession(session: string, reason: string, cause?: SessionEnd["cause"], decision?: Decision): Promise<SessionEnd>;
  /**
   * Reports the signals that satisfy a challenged verdict's obligations, for a user who approved
   * the call outside the gate (the AI SDK's approval flow); decide the call again afterwards.
   */
  satisfy(verdict: Verdict): Promise<void>;
  /** Why a session ended, if it did (and is still remembered: the last 100,000 ends). */
  ended(session: string): SessionEnd | undefined;
  /**
   * For an allowed call whose tool has just finished: the refusal to answer instead of the tool's
   * result when the session ended while the tool ran, else null.
   */
  cutOff(verdict: Verdict): Verdict | null;
  /** Stops watching a session whose connection closed (it is not ended). */
  releaseSession(session: string): void;
  /** The tools a scope's principal could ever be allowed to call: the mapping knows them and some allow rule reaches them. */
  visibleTools<T extends { readonly name: string }>(tools: readonly T[], scope: CallScope): T[];
}

const DEFAULT_CHALLENGE_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_HELD_SESSIONS = 10_000;
/** Ended sessions remembered by the gate; older ones are still denied by the Guard's revocation. */
const MAX_ENDED_SESSIONS = 100_000;
const EMPTY: readonly never[] = Object.freeze([]);

export function createToolGate(options: ToolGateOptions): ToolGate {
  const { guard, mapping } = options;
  const now = options.now ?? Date.now;
  const timeoutMs = options.challengeTimeoutMs ?? DEFAULT_CHALLENGE_TIMEOUT_MS;
  const ends = new Map<string, SessionEnd>();
  const holding = options.holdSessions ?? true;
  const maxHeld = options.maxHeldSessions ?? DEFAULT_MAX_HELD_SESSIONS;
  /** Per session, the hold of its latest allowed decision (insertion order: least recently used first). */
  const held = new Map<string, Hold>();

  const releaseSession = (session: string): void => {
    held.get(session)?.release();
    held.delete(session);
  };

  /** Calls being decided per session, and a hold's turn that waits for them (their own revoke ends the session first). */
  const busy = new Map<string, number>();
  const waiting = new Map<string, HoldChange>();

  const turned = (session: string, change: HoldChange): void => {
    if (busy.has(session)) return void waiting.set(session, change);
    releaseSession(session);
    void endSession(session, refusal(change.decision), "hold", change.decision);
  };

  /** Watches `d` (the session's latest allow) in place of the session's earlier hold. */
  const holdSession = (session: string, d: Decision, request: GuardRequest): void => {
    if (!holding || session === "" || ends.has(session)) return;
    releaseSession(session);
    let hold: Hold | null = null;
    const onChange = (change: HoldChange): void => {
      if (!changeEnds(change)) return;
      if (hold !== null && held.get(session) === hold) turned(session, change);
    };
    try {
      hold = guard.hold(d, request, { onChange });
    } catch {
      return; // a Guard without holds: the session is decided call by call
    }
    if (hold.released) return;
    held.set(session, hold);
    if (held.size > maxHeld) releaseSession(held.keys().next().value as string);
  };

  const report = (v: Verdict): Verdict => {
    if (options.onToolCall !== undefined) {
      try {
        options.onToolCall(v);
      } catch {
        // A log hook never changes a verdict.
      }
    }
    return v;
  };

  const decideOne = async (request: GuardRequest): Promise<Decision> => {
    try {
      const d = await guard.decide(request);
      if (d !== null && typeof d === "object" && (d.effect === "allow" || d.effect === "deny" || d.effect === "challenge" || d.effect === "revoke")) return d;
      return gateDecision(guard, now(), "R314", "the guard gave no decision", request.action);
    } catch (e) {
      return gateDecision(guard, now(), "R314", `the guard failed: ${e instanceof Error ? e.message : String(e)}`, request.action);
    }
  };

  const endSession = async (session: string, reason: string, cause: SessionEnd["cause"] = "api", decision?: Decision): Promise<SessionEnd> => {
    const prior = ends.get(session);
    if (prior !== undefined) return prior;
    const end: SessionEnd = Object.freeze({ session, reason, cause, time: now(), ...(decision !== undefined ? { decision } : {}) });
    ends.set(session, end);
    releaseSession(session);
    if (ends.size > MAX_ENDED_SESSIONS) ends.delete(ends.keys().next().value as string);
    // The Guard's state says so too, unless the decision revoked the session itself (a recheck
    // records nothing: a held call that turned to revoke has revoked nothing yet).
    const key = keySpecText({ session });
    const revokedByDecision = decision !== undefined && (cause === "hold" ? revokes(decision, key) : decision.obligations.some((o) => o.kind === "revoke" && o.key === key));
    if (!revokedByDecision) await guard.revoke({ session }, reason);
    if (options.onSessionEnd !== undefined) {
      try {
        options.onSessionEnd(end);
      } catch {
        // The host's hook never undoes the end.
      }
    }
    return end;
  };

  /** Observes every signal that satisfies the decision's challenges, for the request's session and principal. */
  const satisfy = async (d: Decision, request: GuardRequest): Promise<void> => {
    for (const o of d.obligations) {
      if (o.kind !== "challenge") continue;
      for (const signal of o.satisfiedBy) {
        await guard.observe({ signal, principal: request.principal, ...(request.session !== undefined ? { session: request.session } : {}) });
      }
    }
  };

  /** Asks the user; on `accept` reports the signals that satisfy the challenge and decides again. */
  const meetChallenge = async (d: Decision, request: GuardRequest, call: ToolCall, ask: AskUser | undefined): Promise<{ decision: Decision | null; answer: ChallengeAnswer }> => {
    if (ask === undefined) return { decision: null, answer: "unsupported" };
    const obligations = d.obligations.filter((o): o is Extract<Obligation, { kind: "challenge" }> => o.kind === "challenge");
    const controller = new AbortController();
    const challenge: Challenge = Object.freeze({
      tool: call.name,
      action: d.action,
      session: request.session ?? "",
      message: challengeText(call.name, d.action, obligations),
      obligations,
      decision: d,
      signal: controller.signal,
    });
    let answer: ChallengeAnswer;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<"failed">((resolve) => {
        timer = setTimeout(() => resolve("failed"), timeoutMs);
      });
      const given = await Promise.race([Promise.resolve().then(() => ask(challenge)), timeout]);
      answer = given === "accept" || given === "decline" || given === "cancel" ? given : "failed";
    } catch {
      answer = "failed";
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    if (answer !== "accept") return { decision: null, answer };
    await satisfy(d, request);
    return { decision: await decideOne(request), answer };
  };

  return {
    guard,
    mapping,
    endSession,
    releaseSession,
    ended: (session) => ends.get(session),
    cutOff(v: Verdict): Verdict | null {
      const end = v.allowed ? ends.get(v.session) : undefined;
      if (end === undefined) return null;
      const d = end.decision ?? gateDecision(guard, end.time, "R307", `the session ended: ${end.reason}`, v.action);
      return report(verdict(v.tool, v.session, d, [...v.decisions, d], v.answer, `leash cut off ${v.tool}: the session ended while it ran (${end.reason}); its result is withheld`, v.request));
    },
    satisfy: async (v) => {
      if (v.effect === "challenge" && v.request !== undefined) await satisfy(v.decision, v.request);
    },

    async decide(call: ToolCall, scope: CallScope, ask?: AskUser): Promise<Verdict> {
      const tool = typeof call?.name === "string" ? call.name : "";
      const session = typeof scope?.session === "string" ? scope.session : "";
      const end = ends.get(session);
      if (end !== undefined) {
        const d = gateDecision(guard, now(), "R307", `the session ended: ${end.reason}`, mapping.actionOf(tool) ?? "");
        return report(verdict(tool, session, d, [d], undefined, `leash denied ${tool}: the session ended (${end.reason})`));
      }
      const mapped = mapping.map(call, scope);
      if (!mapped.ok) {
        const d = gateDecision(guard, now(), mapped.code, mapped.message, mapped.action);
        return report(verdict(tool, session, d, [d], undefined, `leash denied ${tool}: ${mapped.message}`));
      }
      busy.set(session, (busy.get(session) ?? 0) + 1);
      try {
        return await decideMapped(tool, session, call, mapped.requests, ask);
      } finally {
        const left = busy.get(session)! - 1;
        if (left > 0) busy.set(session, left);
        else {
          busy.delete(session);
          const change = waiting.get(session);
          waiting.delete(session);
          if (change !== undefined && !ends.has(session)) turned(session, change);
        }
      }
    },

    visibleTools<T extends { readonly name: string }>(tools: readonly T[], scope: CallScope): T[] {
      const principal = mapping.principalOf(scope);
      if (typeof principal === "string") return [];
      return tools.filter((t) => {
        const action = mapping.actionOf(t.name);
        return action !== null && couldEverAllow(guard.policy, action, principal);
      });
    },
  };

  /** Decides a mapped call's requests in order; holds the last allow of a call that is allowed. */
  async function decideMapped(tool: string, session: string, call: ToolCall, requests: readonly GuardRequest[], ask: AskUser | undefined): Promise<Verdict> {
    const decisions: Decision[] = [];
    let last: Decision | null = null;
    let accepted = false;
    for (const request of requests) {
      let d = await decideOne(request);
      decisions.push(d);
      let answer: ChallengeAnswer | undefined;
      if (d.effect === "challenge") {
        const met = await meetChallenge(d, request, call, ask);
        answer = met.answer;
        accepted ||= answer === "accept";
        if (met.decision !== null) {
          decisions.push(met.decision);
          d = met.decision;
        }
      }
      if (d.effect !== "allow") {
        if (d.effect === "revoke") {
          const reason = refusal(d);
          await endSession(session, reason, "revoke", d);
          return report(verdict(tool, session, d, decisions, answer, `leash revoked the session at ${tool}: ${reason}; every later call is denied`, request));
        }
        return report(verdict(tool, session, d, decisions, answer, refusalText(tool, d, answer), request));
      }
      last = d;
    }
    const request = requests[requests.length - 1];
    if (request !== undefined) holdSession(session, last!, request);
    return report(verdict(tool, session, last!, decisions, accepted ? "accept" : undefined, `allowed by ${last!.rules.join(", ") || "the policy"}`, request));
  }
}

function verdict(tool: string, session: string, decision: Decision, decisions: readonly Decision[], answer: ChallengeAnswer | undefined, message: string, request?: GuardRequest): Verdict {
  return Object.freeze({
    allowed: decision.effect === "allow",
    effect: decision.effect,
    tool,
    action: decision.action,
    session,
    decision,
    decisions: Object.freeze([...decisions]),
    ...(request !== undefined ? { request } : {}),
    ...(answer !== undefined ? { answer } : {}),
    message,
  });
}

/** Whether `d` was denied because `key` is revoked already (R307 names the key first). */
function revokes(d: Decision, key: string): boolean {
  return d.reasons.some((r) => r.code === "R307" && r.message.startsWith(`${key} was revoked`));
}

/** The reasons of the rules that refused, or the decision's first reason. */
function refusal(d: Decision): string {
  const refusing = d.reasons.filter((r) => r.effect !== "allow" && r.effect !== "flag").map((r) => r.message);
  return (refusing.length > 0 ? refusing : d.reasons.map((r) => r.message)).join("; ") || d.effect;
}

function refusalText(tool: string, d: Decision, answer: ChallengeAnswer | undefined): string {
  if (d.effect !== "challenge") return `leash denied ${tool}: ${refusal(d)}`;
  const obligations = d.obligations.filter((o): o is Extract<Obligation, { kind: "challenge" }> => o.kind === "challenge");
  const asks = challengeText(tool, d.action, obligations);
  switch (answer) {
    case "decline":
    case "cancel":
      return `${asks}: the user answered ${answer}`;
    case "failed":
      return `${asks}: no answer came`;
    case "accept":
      return `${asks}: still challenged after the answer (${refusal(d)})`;
    default:
      return `${asks}: this client cannot be asked (it does not support elicitation)`;
  }
}

function challengeText(tool: string, action: string, obligations: readonly Extract<Obligation, { kind: "challenge" }>[]): string {
  const kinds = [...new Set(obligations.map((o) => o.challenge))].join(" and ") || "a step-up";
  const by = [...new Set(obligations.flatMap((o) => o.satisfiedBy))];
  return `leash: ${tool} (${action}) needs ${kinds}${by.length > 0 ? ` (satisfied by ${by.join(", ")})` : ""}`;
}

/** A deny that no rule gave: the gate could not decide the call (mapping, ended session, guard failure). */
function gateDecision(guard: Guard, time: number, code: string, message: string, action: string): Decision {
  const reason = Object.freeze({ rule: null, effect: "deny" as const, code, message });
  return Object.freeze({
    effect: "deny",
    rules: EMPTY,
    reasons: Object.freeze([reason]),
    obligations: EMPTY,
    flags: EMPTY,
    errors: Object.freeze([Object.freeze({ rule: null, code, message })]),
    warnings: EMPTY,
    validUntil: null,
    nextDeadline: null,
    watch: EMPTY,
    policyHash: guard.policy.hash,
    time,
    action,
  }) as Decision;
}
