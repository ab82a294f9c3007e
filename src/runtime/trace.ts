import { didYouMean } from "../diagnostics/suggest.js";
import { isRecord } from "./attributes.js";
import type { Policy } from "./engine.js";
import { validTime } from "./time.js";
import type { Decision, KeySpec, PolicyState } from "./types.js";
import { observe, reinstate, revoke } from "./operations.js";

/**
 * A trace line: a request (has `action`), a signal (has `signal`), or a state operation
 * (`{"revoke": KEY, "reason": "...", "time": T}`, `{"reinstate": KEY}`), optionally with the
 * outcome it must have in `expect`: an effect name or `{effect, rules, flags, validUntil,
 * nextDeadline, watch, revoked}`.
 */
export type TraceEvent = Record<string, unknown>;

export interface Expectation {
  readonly effect?: string;
  readonly rules?: readonly string[];
  readonly flags?: readonly string[];
  readonly validUntil?: number | null;
  readonly nextDeadline?: number | null;
  readonly watch?: readonly string[];
  /** For signals and revoke/reinstate lines: the keys revoked by this line. */
  readonly revoked?: readonly string[];
}

export interface TraceStep {
  /** 1-based index of the event in the trace. */
  readonly index: number;
  readonly kind: "request" | "signal" | "revoke" | "reinstate" | "invalid";
  readonly event: TraceEvent;
  readonly decision?: Decision;
  /** Keys revoked by a signal or revoke line; flags raised by a signal. */
  readonly revoked?: readonly string[];
  readonly flags?: readonly string[];
  readonly message?: string;
  readonly expect?: Expectation;
  /**
   * What differs from `expect`, and what is wrong with the line itself (an `invalid` line, an
   * `expect` that is not a valid expectation); empty when the line is valid and met its `expect`.
   */
  readonly mismatches: readonly string[];
}

type EventKind = Exclude<TraceStep["kind"], "invalid">;

/** The effects a request line may expect. */
const EFFECTS = ["allow", "challenge", "deny", "revoke"] as const;

/** The fields of an `expect` object, and the kinds of line each applies to. */
const EXPECT_FIELDS: Readonly<Record<keyof Expectation, readonly EventKind[]>> = {
  effect: ["request"],
  rules: ["request"],
  flags: ["request", "signal"],
  validUntil: ["request"],
  nextDeadline: ["request"],
  watch: ["request"],
  revoked: ["signal", "revoke"],
};

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const own = (o: Record<string, unknown>, k: string): unknown => (hasOwn(o, k) ? o[k] : undefined);

/** The kind of a trace line, or null when it is none of them. */
export function eventKind(event: TraceEvent): EventKind | null {
  if (typeof own(event, "action") === "string") return "request";
  if (typeof own(event, "signal") === "string") return "signal";
  if (isRecord(own(event, "revoke"))) return "revoke";
  if (isRecord(own(event, "reinstate"))) return "reinstate";
  return null;
}

/**
 * What is wrong with a trace line before it is replayed: not an event, a state operation with a
 * `reason` or `time` of the wrong type, an `expect` that is not an expectation (an unknown field or
 * effect gets a did-you-mean). Empty for a valid line. Never throws, whatever `event` is.
 */
export function checkTraceEvent(event: TraceEvent): string[] {
  const { line, expect } = examine(event);
  return [...line, ...expect];
}

/** The line's kind, the problems that keep it from being applied, and those of its `expect`. */
function examine(event: TraceEvent): { kind: EventKind | null; line: string[]; expect: string[] } {
  try {
    if (!isRecord(event)) return { kind: null, line: ["a trace line is a JSON object"], expect: [] };
    const kind = eventKind(event);
    if (kind === null) return { kind, line: [notAnEvent(event)], expect: [] };
    const line: string[] = [];
    if (kind === "revoke") {
      const reason = own(event, "reason");
      if (reason !== undefined && typeof reason !== "string") line.push(`\`reason\` must be a string, got ${typeName(reason)}`);
      const time = own(event, "time");
      // The one time validation every entry point uses (finite, within ±8.64e15, or ISO 8601).
      if (time !== undefined && validTime(time) === undefined) line.push(`\`time\` must be milliseconds since the epoch (finite, at most 8.64e15 in size) or an ISO 8601 string, got ${typeof time === "number" ? String(time) : typeName(time)}`);
    }
    return { kind, line, expect: hasOwn(event, "expect") ? checkExpect(event.expect, kind) : [] };
  } catch (e) {
    return { kind: null, line: [`the line cannot be read: ${errorText(e)}`], expect: [] };
  }
}

function notAnEvent(event: Record<string, unknown>): string {
  for (const field of ["action", "signal"] as const) {
    if (hasOwn(event, field)) return `\`${field}\` must be a string, got ${typeName(event[field])}`;
  }
  for (const field of ["revoke", "reinstate"] as const) {
    if (hasOwn(event, field)) return `\`${field}\` must be a key object such as {"session":"s1"}, got ${typeName(event[field])}`;
  }
  return "a trace line has `action`, `signal`, `revoke` or `reinstate`";
}

function checkExpect(x: unknown, kind: EventKind): string[] {
  if (typeof x === "string") {
    if (kind !== "request") return [`\`expect\` is an effect, but a ${kind} line has no effect; expect ${fieldsFor(kind)}`];
    return checkEffect(x, "expect");
  }
  if (!isRecord(x)) return [`\`expect\` must be an effect name or an object such as {"effect":"allow"}, got ${typeName(x)}`];
  const problems: string[] = [];
  for (const field of Object.keys(x)) {
    const value = x[field];
    const at = `expect.${field}`;
    if (!hasOwn(EXPECT_FIELDS, field)) {
      const near = didYouMean(field, Object.keys(EXPECT_FIELDS));
      problems.push(`\`${at}\` is not an expectation${near ? `; did you mean \`${near}\`?` : `; the fields are ${Object.keys(EXPECT_FIELDS).join(", ")}`}`);
      continue;
    }
    const applies = EXPECT_FIELDS[field as keyof Expectation];
    if (!applies.includes(kind)) {
      problems.push(`\`${at}\` applies to ${applies.map((k) => `${k} lines`).join(" and ")}; a ${kind} line can expect ${fieldsFor(kind)}`);
      continue;
    }
    if (field === "effect") {
      problems.push(...(typeof value === "string" ? checkEffect(value, at) : [`\`${at}\` must be an effect name, got ${typeName(value)}`]));
    } else if (field === "validUntil" || field === "nextDeadline") {
      if (value !== null && (typeof value !== "number" || !Number.isFinite(value))) problems.push(`\`${at}\` must be a time in milliseconds or null, got ${typeName(value)}`);
    } else if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
      problems.push(`\`${at}\` must be a list of ${field === "revoked" ? "keys" : field === "watch" ? "paths or keys" : `${field.slice(0, -1)} names`} (strings), got ${typeName(value)}`);
    }
  }
  return problems;
}

function checkEffect(effect: string, at: string): string[] {
  if ((EFFECTS as readonly string[]).includes(effect)) return [];
  const shown = JSON.stringify(effect.length > 40 ? `${effect.slice(0, 40)}...` : effect);
  if (effect === "flag") return [`\`${at}\` is "flag", but flags never change the effect; expect {"flags": [RULE...]} next to the effect`];
  const near = didYouMean(effect.toLowerCase(), EFFECTS);
  return [`\`${at}\`: ${shown} is not an effect${near ? ` (a typo?); did you mean "${near}"?` : `; the effects are ${EFFECTS.join(", ")}`}`];
}

function fieldsFor(kind: EventKind): string {
  const fields = Object.entries(EXPECT_FIELDS)
    .filter(([, kinds]) => kinds.includes(kind))
    .map(([f]) => f);
  return fields.length === 0 ? "nothing" : `{${fields.join(", ")}}`;
}

/** `5`, `a string`, `an object`, `null`: a JSON value's type, for messages. */
function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  switch (typeof v) {
    case "string":
      return "a string";
    case "number":
      return Number.isFinite(v) ? String(v) : "a non-finite number";
    case "boolean":
      return String(v);
    case "object":
      return "an object";
    case "undefined":
      return "nothing";
    default:
      return `a ${typeof v}`;
  }
}

function errorText(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return "an exception without a message";
  }
}

/**
 * Replays a trace through the policy, threading state, and checks each line's `expect`. Never throws:
 * a line that is not an event (or a revoke whose `reason` is not a string, ...) is an `invalid` step
 * that changes no state; an `expect` that is not an expectation is reported in the step's
 * `mismatches` and the line is still applied, so later lines see the same state either way.
 */
export function replayTrace(policy: Policy, events: readonly TraceEvent[], initial?: PolicyState): { steps: TraceStep[]; state: PolicyState } {
  let state = initial ?? policy.initialState();
  const steps: TraceStep[] = [];
  for (let i = 0; i < events.length; i++) {
    const raw = events[i]!;
    const index = i + 1;
    try {
      const r = replayLine(policy, state, raw, index);
      state = r.state;
      steps.push(r.step);
    } catch (e) {
      const message = `the line cannot be replayed: ${errorText(e)}`;
      steps.push({ index, kind: "invalid", event: isRecord(raw) ? raw : {}, message, mismatches: [message] });
    }
  }
  return { steps, state };
}

function replayLine(policy: Policy, state: PolicyState, raw: TraceEvent, index: number): { step: TraceStep; state: PolicyState } {
  const { kind, line, expect: expectProblems } = examine(raw);
  if (kind === null || line.length > 0) {
    const problems = [...line, ...expectProblems];
    return { step: { index, kind: "invalid", event: isRecord(raw) ? raw : {}, message: problems.join("; "), mismatches: problems }, state };
  }
  const expect = expectProblems.length === 0 ? parseExpect(own(raw, "expect")) : undefined;
  const { step, state: next } = applyLine(policy, state, kind, withoutExpect(raw), index, expect);
  return { step: expectProblems.length === 0 ? step : { ...step, mismatches: [...expectProblems, ...step.mismatches] }, state: next };
}

function applyLine(policy: Policy, state: PolicyState, kind: EventKind, event: TraceEvent, index: number, expect: Expectation | undefined): { step: TraceStep; state: PolicyState } {
  switch (kind) {
    case "request": {
      const r = policy.decide(state, event);
      return { state: r.state, step: { index, kind, event, decision: r.decision, expect, mismatches: compare(expect, r.decision) } };
    }
    case "signal": {
      const r = observe(policy, state, event);
      const revoked = r.revoked.map((x) => x.key);
      const mismatches = [...compareList("flags", expect?.flags, r.flags), ...compareList("revoked", expect?.revoked, revoked)];
      if (expect && r.errors.some((e) => e.code === "R304" || e.code === "R303")) mismatches.push(`signal rejected: ${r.errors[0]!.message}`);
      return { state: r.state, step: { index, kind, event, revoked, flags: r.flags, message: r.errors.map((e) => e.message).join("; ") || undefined, expect, mismatches } };
    }
    case "revoke": {
      const reason = own(event, "reason");
      const time = own(event, "time");
      const r = revoke(policy, state, event.revoke as KeySpec, typeof reason === "string" ? reason : "revoked by API", time === undefined ? 0 : (time as number | string));
      const revoked = r.error ? [] : [r.key];
      return { state: r.state, step: { index, kind, event, revoked, message: r.error?.message, expect, mismatches: compareList("revoked", expect?.revoked, revoked) } };
    }
    case "reinstate": {
      const r = reinstate(policy, state, event.reinstate as KeySpec);
      return { state: r.state, step: { index, kind, event, message: r.error?.message, expect, mismatches: [] } };
    }
  }
}

function withoutExpect(e: TraceEvent): TraceEvent {
  if (!hasOwn(e, "expect")) return e;
  const { expect: _drop, ...rest } = e;
  return rest;
}

/** A checked `expect` (see `checkTraceEvent`) as an Expectation. */
function parseExpect(x: unknown): Expectation | undefined {
  if (x === undefined) return undefined;
  if (typeof x === "string") return { effect: x };
  return x as Expectation;
}

function compare(expect: Expectation | undefined, d: Decision): string[] {
  if (!expect) return [];
  const out: string[] = [];
  if (expect.effect !== undefined && expect.effect !== d.effect) out.push(`effect: expected ${expect.effect}, got ${d.effect}`);
  out.push(...compareList("rules", expect.rules, d.rules), ...compareList("flags", expect.flags, d.flags));
  if (expect.validUntil !== undefined && expect.validUntil !== d.validUntil) out.push(`validUntil: expected ${expect.validUntil}, got ${d.validUntil}`);
  if (expect.nextDeadline !== undefined && expect.nextDeadline !== d.nextDeadline) out.push(`nextDeadline: expected ${expect.nextDeadline}, got ${d.nextDeadline}`);
  if (expect.watch !== undefined) {
    const missing = expect.watch.filter((w) => !d.watch.includes(w));
    if (missing.length > 0) out.push(`watch: missing ${missing.join(", ")} (got ${d.watch.join(", ")})`);
  }
  return out;
}

function compareList(name: string, expected: readonly string[] | undefined, got: readonly string[]): string[] {
  if (expected === undefined) return [];
  const a = [...expected].sort().join(",");
  const b = [...got].sort().join(",");
  return a === b ? [] : [`${name}: expected [${a}], got [${b}]`];
}

/**
 * Parses JSON Lines; blank lines and lines starting with `//` are skipped. Errors name the line;
 * `lines[i]` is the 1-based line of `events[i]`, so a step's `index` maps back to its line.
 */
export function parseJsonLines(text: string, file = "<trace>"): { events: TraceEvent[]; errors: string[]; lines: number[] } {
  const { events, lines, errors } = scanJsonLines(text);
  return { events, lines, errors: errors.map((e) => `${file}:${e.line}: ${e.message}`) };
}

/**
 * A trace file read and checked line by line: the events with their line numbers, and every problem
 * as `FILE:LINE: what is wrong` in line order (invalid JSON, a line that is not an event, an `expect`
 * that is not an expectation). The CLI refuses a trace with problems before replaying it.
 */
export function readTrace(text: string, file = "<trace>"): { events: TraceEvent[]; lines: number[]; problems: string[] } {
  const { events, lines, errors } = scanJsonLines(text);
  events.forEach((e, i) => {
    for (const message of checkTraceEvent(e)) errors.push({ line: lines[i]!, message });
  });
  errors.sort((a, b) => a.line - b.line);
  return { events, lines, problems: errors.map((e) => `${file}:${e.line}: ${e.message}`) };
}

function scanJsonLines(text: string): { events: TraceEvent[]; lines: number[]; errors: { line: number; message: string }[] } {
  const events: TraceEvent[] = [];
  const lines: number[] = [];
  const errors: { line: number; message: string }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === "" || t.startsWith("//")) return;
    try {
      const v = JSON.parse(t) as unknown;
      if (!isRecord(v)) errors.push({ line: i + 1, message: "a trace line is a JSON object" });
      else {
        events.push(v);
        lines.push(i + 1);
      }
    } catch (e) {
      errors.push({ line: i + 1, message: `invalid JSON: ${(e as Error).message}` });
    }
  });
  return { events, lines, errors };
}
