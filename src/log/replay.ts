import type { Policy } from "../runtime/engine.js";
import type { DecisionEffect, KeySpec, PolicyState } from "../runtime/types.js";
import { REDACTED } from "./redact.js";
import { observe, reinstate, revoke } from "../runtime/operations.js";

/** A decision the new policy would decide differently. */
export interface ReplayFlip {
  /** 1-based line of the log. */
  readonly line: number;
  readonly id: string;
  readonly action: string;
  readonly before: { readonly effect: DecisionEffect; readonly rules: readonly string[] };
  readonly after: { readonly effect: DecisionEffect; readonly rules: readonly string[] };
}

/** Flips of one action from one outcome to another. */
export interface ReplayGroup {
  readonly action: string;
  readonly from: DecisionEffect;
  readonly to: DecisionEffect;
  readonly rulesBefore: readonly string[];
  readonly rulesAfter: readonly string[];
  readonly count: number;
  /** Lines of the first flips of the group (at most 5). */
  readonly lines: readonly number[];
}

export interface ReplayReport {
  /** Lines read (blank lines aside). */
  readonly events: number;
  readonly decisions: number;
  readonly signals: number;
  /** Revocations and reinstatements by API. */
  readonly keyOperations: number;
  /** Shadow-mode lines, which replay skips. */
  readonly shadow: number;
  /** Decisions the policy decides differently. */
  readonly flips: readonly ReplayFlip[];
  readonly groups: readonly ReplayGroup[];
  /** Decisions replayed from redacted or cut-down input (R338). */
  readonly redacted: number;
  /**
   * Decisions that came out differently but cannot be judged (R338): their logged input lacks the
   * value of a `[secret]` attribute a rule of the policy reads, or was cut down. Not flips.
   */
  readonly unverifiable: readonly ReplayFlip[];
  /** Lines that are not events of a decision log, as `FILE:LINE: what` (R339); a revocation of a redacted key too. */
  readonly problems: readonly string[];
  /** How many decisions each logged policy hash made. */
  readonly policies: Readonly<Record<string, number>>;
}

const MAX_LINES_SHOWN = 5;
const own = (o: object, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? (o as Record<string, unknown>)[k] : undefined);

/**
 * Re-decides a decision log with `policy`: every line in order from the policy's initial state —
 * decisions through `decide`, signals through `observe`, revocations and reinstatements by API —
 * so the state is rebuilt from the log, and each decision's new effect is compared with the logged
 * one. Lines of a pino log (the event under `decision`) are read too. Never throws.
 */
export function replayLog(policy: Policy, text: string, file = "<log>"): ReplayReport {
  let state: PolicyState = policy.initialState();
  let events = 0;
  let decisions = 0;
  let signals = 0;
  let keyOperations = 0;
  let shadow = 0;
  let redacted = 0;
  const flips: ReplayFlip[] = [];
  const unverifiable: ReplayFlip[] = [];
  const read = readPaths(policy);
  const problems: string[] = [];
  const policies: Record<string, number> = {};
  const problem = (line: number, message: string) => problems.push(`${file}:${line}: ${message}`);

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === "") continue;
    events++;
    const at = i + 1;
    let e: Record<string, unknown>;
    try {
      e = eventOf(JSON.parse(raw) as unknown);
    } catch (err) {
      problem(at, `R339 ${err instanceof SyntaxError ? `invalid JSON: ${err.message}` : errorText(err)}`);
      continue;
    }
    const kind = own(e, "kind");
    const input = own(e, "input");
    try {
      if (kind === "decision") {
        const before = loggedOutcome(e);
        if (before === null || !isRecord(input)) {
          problem(at, "R339 a decision line has an input and an effect");
          continue;
        }
        decisions++;
        const hash = own(e, "policyHash");
        if (typeof hash === "string") policies[hash] = (policies[hash] ?? 0) + 1;
        const missing = missingValues(e);
        if (missing !== null) redacted++;
        const r = policy.decide(state, input);
        state = r.state;
        if (r.decision.effect !== before.effect) {
          const id = own(e, "id");
          const flip = { line: at, id: typeof id === "string" ? id : "", action: r.decision.action, before, after: { effect: r.decision.effect, rules: r.decision.rules } };
          // A rule that read a value the log does not hold decided on "[redacted]": nothing to compare.
          const blind = missing !== null && (missing === "all" || missing.some((p) => read.has(p)));
          (blind ? unverifiable : flips).push(flip);
        }
      } else if (kind === "signal") {
        if (!isRecord(input)) {
          problem(at, "R339 a signal line has an input");
          continue;
        }
        signals++;
        state = observe(policy, state, input).state;
      } else if (kind === "revoke" || kind === "reinstate") {
        const key = own(e, "key");
        const spec = typeof key === "string" ? keySpecOf(key) : null;
        if (spec === null) {
          problem(at, `R339 a ${kind} line has a key such as "session:s1"`);
          continue;
        }
        keyOperations++;
        if ((key as string).endsWith(`:${REDACTED}`) || (key as string).endsWith(`/${REDACTED}`)) {
          problem(at, `R338 the ${kind} of a [secret] key cannot be replayed: its value is not in the log`);
          continue;
        }
        if (kind === "revoke") {
          const reason = own(e, "reason");
          state = revoke(policy, state, spec, typeof reason === "string" ? reason : "revoked by API", timeOf(e)).state;
        } else state = reinstate(policy, state, spec, timeOf(e)).state;
      } else if (kind === "shadow") shadow++;
      else problem(at, `R339 not a decision log line (kind ${JSON.stringify(kind)})`);
    } catch (err) {
      problem(at, `R339 the line cannot be replayed: ${errorText(err)}`);
    }
  }
  return { events, decisions, signals, keyOperations, shadow, flips, groups: groupFlips(flips), redacted, unverifiable, problems, policies };
}

function groupFlips(flips: readonly ReplayFlip[]): ReplayGroup[] {
  const groups = new Map<string, { action: string; from: DecisionEffect; to: DecisionEffect; rulesBefore: readonly string[]; rulesAfter: readonly string[]; count: number; lines: number[] }>();
  for (const f of flips) {
    const key = JSON.stringify([f.action, f.before.effect, f.after.effect, f.before.rules, f.after.rules]);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { action: f.action, from: f.before.effect, to: f.after.effect, rulesBefore: f.before.rules, rulesAfter: f.after.rules, count: 0, lines: [] }));
    g.count++;
    if (g.lines.length < MAX_LINES_SHOWN) g.lines.push(f.line);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.action.localeCompare(b.action));
}

/** The event of a line: a decision log line, or a pino line holding one under `decision`. */
function eventOf(v: unknown): Record<string, unknown> {
  if (!isRecord(v)) throw new Error("a line is a JSON object");
  if (typeof own(v, "kind") === "string") return v;
  const nested = own(v, "decision");
  if (isRecord(nested) && typeof own(nested, "kind") === "string") return nested;
  throw new Error("not a decision log line: it has no `kind`");
}

const EFFECTS: ReadonlySet<string> = new Set(["allow", "deny", "challenge", "revoke"]);

function loggedOutcome(e: Record<string, unknown>): { effect: DecisionEffect; rules: readonly string[] } | null {
  const effect = own(e, "effect");
  const rules = own(e, "rules");
  if (typeof effect !== "string" || !EFFECTS.has(effect)) return null;
  return { effect: effect as DecisionEffect, rules: Array.isArray(rules) ? rules.filter((r): r is string => typeof r === "string") : [] };
}

/** What the logged input lacks: the redacted attribute paths, `all` for a cut-down input, null for nothing. */
function missingValues(e: Record<string, unknown>): readonly string[] | "all" | null {
  if (own(e, "truncated") === true) return "all";
  const r = own(e, "redacted");
  return Array.isArray(r) && r.length > 0 ? r.filter((p): p is string => typeof p === "string") : null;
}

/** The attribute paths the rules of the policy read. */
function readPaths(policy: Policy): ReadonlySet<string> {
  return new Set(policy.ir.rules.flatMap((r) => r.reads));
}

function timeOf(e: Record<string, unknown>): number {
  const t = own(e, "time");
  const ms = typeof t === "string" ? Date.parse(t) : typeof t === "number" ? t : NaN;
  return Number.isFinite(ms) ? ms : 0;
}

/** `session:s1`, `principal:agent/bot`, `context.ip:1.2.3.4` as the key they name. */
export function keySpecOf(key: string): KeySpec | null {
  if (key.startsWith("session:")) return key.length > 8 ? { session: key.slice(8) } : null;
  if (key.startsWith("principal:")) {
    const rest = key.slice(10);
    const slash = rest.indexOf("/");
    return slash <= 0 ? null : { principal: { kind: rest.slice(0, slash), id: rest.slice(slash + 1) } };
  }
  const colon = key.indexOf(":");
  return colon <= 0 ? null : { attribute: key.slice(0, colon), value: key.slice(colon + 1) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function errorText(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return "an exception without a message";
  }
}
