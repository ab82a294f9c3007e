import type { EventSelector, Path } from "../../src/ast/nodes.js";
import { selects, withinWindow, filterAdmits, type KeyPast, type Timed } from "./history.js";
import { readPath, type Subject } from "./subject.js";
import { isError } from "./truth.js";

/**
 * The sequence operators of docs/semantics.md ("Operators"), each computed by scanning the whole
 * past of one key. `past.now` is the request time clamped to the key's latest time.
 */

function timesOf(past: KeyPast, selector: EventSelector): number[] {
  return past.events.filter((e) => selects(selector, e.event)).map((e) => e.time);
}

/** Some X with `now - t < D` (any age without a window) and no Z after it; an event both Z and X counts as X. */
export function after(past: KeyPast, x: EventSelector, windowMs: number | null, z: EventSelector | null): boolean {
  const isStop = (e: Timed) => z !== null && selects(z, e.event) && !selects(x, e.event);
  return past.events.some(
    (e, i) => selects(x, e.event) && withinWindow(e.time, past.now, windowMs) && !past.events.slice(i + 1).some(isStop),
  );
}

/** `now - t` of the latest X; infinite if none. */
export function since(past: KeyPast, x: EventSelector): number {
  const times = timesOf(past, x);
  const latest = times[times.length - 1];
  return latest === undefined ? Infinity : past.now - latest;
}

/** The interval between the two latest X, the current request counting as the latest when it is an X. */
export function gap(past: KeyPast, x: EventSelector, currentIsX: boolean): number {
  const times = timesOf(past, x);
  if (currentIsX) times.push(past.now);
  const [a, b] = times.slice(-2);
  return a === undefined || b === undefined ? Infinity : b - a;
}

export function count(past: KeyPast, x: EventSelector, windowMs: number | null): number {
  return timesOf(past, x).filter((t) => withinWindow(t, past.now, windowMs)).length;
}

/**
 * Distinct values of `attribute` among X within D; without `of X`, among all events that happened.
 * `current` (`including this`): the request being decided, whose value counts too.
 */
export function distinct(past: KeyPast, attribute: Path, x: EventSelector | null, windowMs: number | null, current: Subject | null = null): number {
  const values = new Set<string>();
  const add = (subject: Subject) => {
    const v = readPath(subject, attribute);
    if (isError(v) || !("value" in v)) return;
    if (typeof v.value !== "string" && typeof v.value !== "number") return;
    values.add(`${typeof v.value}:${JSON.stringify(v.value)}`);
  };
  for (const e of past.events) {
    const seen = x === null ? filterAdmits("happened", e.event) : selects(x, e.event);
    if (!seen || !withinWindow(e.time, past.now, windowMs)) continue;
    add(e.event.subject);
  }
  if (current !== null) add(current);
  return values.size;
}

/**
 * GCRA (virtual scheduling) replayed over every past X from the start: emission interval
 * `T = D/N`, tolerance `D - T`; a conforming event moves the theoretical arrival time to
 * `max(TAT, t) + T`, a non-conforming one leaves it. True when one more X now would not conform.
 */
export function rate(past: KeyPast, x: EventSelector, n: number, perMs: number): boolean {
  const emission = perMs / n;
  const tolerance = perMs - emission;
  let tat = -Infinity;
  for (const t of timesOf(past, x)) {
    if (t >= tat - tolerance) tat = Math.max(tat, t) + emission;
  }
  return past.now < tat - tolerance;
}

/**
 * Coefficient of variation (population standard deviation / mean) of the last N gaps between X,
 * the current request included when it is an X; `undefined` (absent) with fewer than N gaps.
 */
export function regularity(past: KeyPast, x: EventSelector, samples: number, currentIsX: boolean): number | undefined {
  const times = timesOf(past, x);
  if (currentIsX) times.push(past.now);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  if (gaps.length < samples) return undefined;
  const last = gaps.slice(-samples);
  const mean = last.reduce((s, g) => s + g, 0) / samples;
  if (mean === 0) return 0;
  const variance = last.reduce((s, g) => s + (g - mean) ** 2, 0) / samples;
  return Math.sqrt(variance) / mean;
}

/** Events a < b < c (arrival order) matching the stages, no Z after a, and `now - t(a) < D`. */
export function sequence(past: KeyPast, stages: readonly EventSelector[], windowMs: number, z: EventSelector | null): boolean {
  const [first, ...rest] = stages;
  if (first === undefined) return false;
  return past.events.some((a, i) => {
    if (!selects(first, a.event) || !withinWindow(a.time, past.now, windowMs)) return false;
    const later = past.events.slice(i + 1);
    if (z !== null && later.some((e) => selects(z, e.event))) return false;
    return isSubsequence(rest, later);
  });
}

function isSubsequence(stages: readonly EventSelector[], events: readonly Timed[]): boolean {
  let stage = 0;
  for (const e of events) {
    const s = stages[stage];
    if (s === undefined) break;
    if (selects(s, e.event)) stage++;
  }
  return stage === stages.length;
}
