import type { EventSelector, KeyRef } from "../../src/ast/nodes.js";
import type { DecisionEffect } from "../../src/runtime/types.js";
import { actionMatches } from "./match.js";
import { keyValue, type Subject } from "./subject.js";
import { isError } from "./truth.js";

/** A key revoked by a rule (or reinstated), e.g. `session:s1`. */
export interface Revocation {
  readonly key: string;
  readonly rule: string;
}

/** A decided request, recorded after its decision with its final effect. */
export interface RequestEvent {
  readonly kind: "request";
  readonly subject: Subject;
  readonly time: number;
  readonly effect: DecisionEffect;
  /** The rules that decided the effect. */
  readonly deciding: readonly string[];
  /** The flag rules that matched. */
  readonly flagged: readonly string[];
  readonly revokes: readonly Revocation[];
}

/** An observed signal; its name is `subject.action`. */
export interface SignalEvent {
  readonly kind: "signal";
  readonly subject: Subject;
  readonly time: number;
  readonly revokes: readonly Revocation[];
}

/** `reinstate(policy, state, key)`. */
export interface ReinstateEvent {
  readonly kind: "reinstate";
  readonly key: string;
}

export type HistoryEvent = RequestEvent | SignalEvent | ReinstateEvent;
export type ObservedEvent = RequestEvent | SignalEvent;

/** An event of one key with its time clamped to the key's latest time so far. */
export interface Timed {
  readonly event: ObservedEvent;
  readonly time: number;
}

/** The past of one key: its events in arrival order, and `now` clamped to the key's latest time. */
export interface KeyPast {
  readonly events: readonly Timed[];
  readonly now: number;
}

/**
 * The events of `history` in the partition `value` of `key`, oldest first. Time that goes
 * backwards for a key is clamped to the key's latest time (docs/semantics.md, "State").
 */
export function pastOfKey(history: readonly HistoryEvent[], key: KeyRef, value: string, now: number): KeyPast {
  const events: Timed[] = [];
  let latest = -Infinity;
  for (const event of history) {
    if (event.kind === "reinstate") continue;
    const v = keyValue(event.subject, key);
    if (isError(v) || v !== value) continue;
    latest = Math.max(latest, event.time);
    events.push({ event, time: latest });
  }
  return { events, now: Math.max(now, latest) };
}

/** Which events a filter sees (docs/semantics.md, "Which events a history sees"). */
export function filterAdmits(filter: EventSelector["filter"], event: ObservedEvent): boolean {
  switch (filter) {
    case "happened":
      return event.kind === "signal" || event.effect === "allow";
    case "allowed":
      return event.kind === "request" && event.effect === "allow";
    case "attempted":
      return event.kind === "request";
    case "denied":
      return event.kind === "request" && event.effect !== "allow";
    case "signal":
      return event.kind === "signal";
  }
}

export function selects(selector: EventSelector, event: ObservedEvent): boolean {
  return filterAdmits(selector.filter, event) && nameMatches(selector, event.subject.action);
}

export function nameMatches(selector: EventSelector, name: string): boolean {
  return selector.patterns.some((p) => actionMatches(p.segments, name));
}

export function withinWindow(time: number, now: number, windowMs: number | null): boolean {
  return windowMs === null || now - time < windowMs;
}
