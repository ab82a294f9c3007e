import type { EventFilter } from "../ast/nodes.js";
import type { EventSelIR, OpIR, WorkflowIR } from "../compile/ir.js";
import { Failure, readOwn } from "./attributes.js";
import { actionPatternMatches } from "./glob.js";
import type { Event } from "./request.js";

/**
 * The register machines behind the history operators. A key's partition holds one flat array of
 * registers; each operator owns `registerWidth(op)` consecutive slots of it from its `slot`. Slots
 * hold numbers (`NONE` when empty), so the array is one block of unboxed numbers that an update
 * copies once; only `distinct` keeps its pairs in a nested array. Sizes are fixed by the policy,
 * never by the history length:
 *
 * | operator   | slots hold                                             | slots            |
 * |------------|--------------------------------------------------------|------------------|
 * | after      | time of the latest X not cancelled by Z                | 1                |
 * | since      | time of the latest X                                   | 1                |
 * | gap        | times of the two latest X                              | 2                |
 * | count      | times of the latest X, oldest first, then NONE         | capacity = N + 2 |
 * | distinct   | [value, last seen, ...] of the latest values (nested)  | 1 (≤ N + 1 pairs)|
 * | rate       | GCRA theoretical arrival time                          | 1                |
 * | regularity | times of the latest X, oldest first, then NONE         | samples + 1      |
 * | sequence   | per stage, start of the newest partial match           | stages           |
 * | workflow   | bit set of current positions                           | 1                |
 * | limit      | uses, or (windowed) times of the uses, oldest first    | 1, or N          |
 * | grant      | time of first use                                      | 1                |
 * | labels     | per label: expiry time, or FOREVER                     | labels           |
 *
 * Windows are half-open: an event at time `ts` is within `D` of `now` when `now - ts < D`.
 */

/** Which stream an event belongs to, for event filters. */
export type Category = "allowed" | "denied" | "signal";

export function filterAccepts(filter: EventFilter, cat: Category): boolean {
  switch (filter) {
    case "happened":
      return cat !== "denied";
    case "allowed":
      return cat === "allowed";
    case "attempted":
      return cat !== "signal";
    case "denied":
      return cat === "denied";
    case "signal":
      return cat === "signal";
  }
}

export function selectorMatches(sel: EventSelIR, name: string, cat: Category): boolean {
  return filterAccepts(sel.filter, cat) && anyPatternMatches(sel.patterns, name);
}

function anyPatternMatches(patterns: readonly (readonly string[])[], name: string): boolean {
  for (let i = 0; i < patterns.length; i++) if (actionPatternMatches(patterns[i]!, name)) return true;
  return false;
}

/**
 * Whether the request being decided is an X for gap and regularity (its category is not known yet).
 * Only a decided request counts: an observed signal is recorded, never part of its own reading.
 */
export function namesMatch(sel: EventSelIR, name: string, isSignal: boolean): boolean {
  if (isSignal || sel.filter === "signal") return false;
  return anyPatternMatches(sel.patterns, name);
}

/** Receives the times at which a value read now would change. */
export interface ChangeSink {
  change(t: number): void;
}

/** A partition's registers: one flat array, each operator at its `slot` for `registerWidth` slots. */
export type Regs = readonly unknown[];

/**
 * An empty register slot. Times are validated to |t| <= 8.64e15 and counts are never negative, so
 * no register value is this; it is exact as a double and short in JSON (`-1e+21`).
 */
export const NONE = -1e21;
/** A label that holds for the rest of the session (JSON has no Infinity; `1e+21` in JSON). */
export const FOREVER = 1e21;

/** How many slots an operator's register takes in its partition (`labels`: the policy's label count). */
export function registerWidth(op: OpIR, labels: number): number {
  switch (op.op) {
    case "gap":
      return 2;
    case "count":
      return op.capacity;
    case "regularity":
      return op.samples + 1;
    case "sequence":
      return op.stages.length;
    case "limit":
      return op.window === null ? 1 : op.count;
    case "labels":
      return labels;
    default:
      return 1;
  }
}

/** The empty registers of a partition of `width` slots. */
export function emptyRegisters(width: number): unknown[] {
  return new Array<unknown>(width).fill(NONE);
}

/** Slot `i` as a number (NONE when empty). Registers are checked when a partition is read (partition.ts). */
function at(r: Regs, i: number): number {
  return r[i] as number;
}

/** Slot `i`, or null when it is empty. */
function opt(r: Regs | null, i: number): number | null {
  if (r === null) return null;
  const v = at(r, i);
  return v === NONE ? null : v;
}

/** The filled prefix of a time list at `off` of `width` slots, as a new array (oldest first). */
export function timesAt(r: Regs | null, off: number, width: number): number[] {
  const out: number[] = [];
  if (r === null) return out;
  for (let i = 0; i < width; i++) {
    const t = at(r, off + i);
    if (t === NONE) break;
    out.push(t);
  }
  return out;
}

/** A `distinct` register: `[value, last seen, value, last seen, ...]`, empty when the slot is. */
function pairsAt(r: Regs | null, i: number): readonly unknown[] {
  if (r === null) return EMPTY;
  const v = r[i];
  return v === NONE ? EMPTY : (v as readonly unknown[]);
}

const EMPTY: readonly unknown[] = Object.freeze([]);

/**
 * `namesMatch` for one selector, remembering the last action name it answered for: a rule is read
 * by requests of the actions it names, so the answer is almost always the remembered one.
 */
export function nameTest(sel: EventSelIR): (ev: Event) => boolean {
  let name = "";
  let answer = namesMatch(sel, name, false);
  return (ev) => {
    if (ev.isSignal) return false;
    if (ev.name !== name) {
      answer = namesMatch(sel, ev.name, false);
      name = ev.name;
    }
    return answer;
  };
}

/**
 * What the request being decided adds to a count or distinct read `including this`: for a count,
 * `true` when it is one of the operator's events; for a distinct, its value of the attribute when
 * it is one of the events (undefined otherwise). The request counts as if it were allowed, so a
 * `denied` or `signal` selector never takes it (the checker refuses `including this` with them).
 * An observed signal is never part of its own reading.
 */
export function currentValue(op: OpIR): (ev: Event) => unknown {
  if (op.op === "count") {
    const test = op.events.filter === "denied" ? () => false : nameTest(op.events);
    return (ev) => (test(ev) ? true : undefined);
  }
  if (op.op === "distinct") {
    const { events, attribute } = op;
    const test = events === null ? (ev: Event) => !ev.isSignal : events.filter === "denied" ? () => false : nameTest(events);
    return (ev) => (test(ev) ? readOwnAttribute(attribute, ev) : undefined);
  }
  return () => undefined;
}

/** GCRA with burst `limit`: emission interval T = per / limit, tolerance = per - T. */
export function gcra(limit: number, per: number): { interval: number; tolerance: number } {
  const interval = per / limit;
  return { interval, tolerance: per - interval };
}

/** Coefficient of variation (stddev / mean) of the last `samples` gaps in `ts`; null with fewer. */
export function coefficientOfVariation(ts: readonly number[], samples: number): number | null {
  if (ts.length < samples + 1) return null;
  const start = ts.length - samples - 1;
  let sum = 0;
  for (let i = start + 1; i < ts.length; i++) sum += ts[i]! - ts[i - 1]!;
  const mean = sum / samples;
  let sq = 0;
  for (let i = start + 1; i < ts.length; i++) {
    const d = ts[i]! - ts[i - 1]! - mean;
    sq += d * d;
  }
  if (mean === 0) return 0;
  return Math.sqrt(sq / samples) / mean;
}

/**
 * When `regularity` crosses `threshold` as the request's time moves on, or null if it never does.
 * Only the newest gap grows with time (when the current request is an X): with the other N-1 gaps
 * fixed (sum S, sum of squares Q) and the newest x, CV(x) = c solves the quadratic
 * (N - k) x^2 - 2 k S x + (N Q - k S^2) = 0 with k = 1 + c^2; the earliest root after the current x
 * is when the comparison can flip.
 */
export function regularityCrossing(op: Extract<OpIR, { op: "regularity" }>, r: Regs | null, now: number, ev: Event, threshold: number): number | null {
  if (!namesMatch(op.events, ev.name, ev.isSignal)) return null;
  const ts = timesAt(r, op.slot, op.samples + 1);
  const n = op.samples;
  if (ts.length < n) return null; // too few gaps even with the current request: absent at any time
  const last = ts[ts.length - 1]!;
  let sum = 0;
  let squares = 0;
  for (let i = ts.length - n + 1; i < ts.length; i++) {
    const g = ts[i]! - ts[i - 1]!;
    sum += g;
    squares += g * g;
  }
  const x0 = now - last;
  const k = 1 + threshold * threshold;
  const a = n - k;
  const b = -2 * k * sum;
  const c = n * squares - k * sum * sum;
  const roots: number[] = [];
  if (a === 0) {
    if (b !== 0) roots.push(-c / b);
  } else {
    const disc = b * b - 4 * a * c;
    if (disc >= 0) {
      const r = Math.sqrt(disc);
      roots.push((-b - r) / (2 * a), (-b + r) / (2 * a));
    }
  }
  let best: number | null = null;
  for (const x of roots) if (x > x0 && (best === null || x < best)) best = x;
  // A microsecond early: the root carries rounding error, and a validUntil must never be late.
  return best === null ? null : last + best - 0.001;
}

/**
 * Whether workflow `w` governs action `name`: its scope (`over ...`) names it, or without a scope,
 * one of its steps does. An action it does not govern never deviates from it.
 */
export function inAlphabet(w: WorkflowIR, name: string): boolean {
  if (w.scope !== null) return anyPatternMatches(w.scope, name);
  for (const ps of w.positions) if (anyPatternMatches(ps, name)) return true;
  return false;
}

/** The positions after `name` from position set `state` (0 = not started); 0 when it deviates. */
export function workflowStep(w: WorkflowIR, state: number, name: string): number {
  return workflowStepTo(w, state, positionsOf(w, name));
}

/** The positions after a step to one of `positions` (a bit set) from position set `state`. */
function workflowStepTo(w: WorkflowIR, state: number, positions: number): number {
  let candidates: number;
  if (state === 0) candidates = w.first;
  else {
    candidates = state & w.accepting ? w.first : 0;
    for (let i = 0; i < w.positions.length; i++) if (state & (1 << i)) candidates |= w.follow[i]!;
  }
  return candidates & positions;
}

/** Every position whose step names `name`. */
function positionsOf(w: WorkflowIR, name: string): number {
  let mask = 0;
  for (let i = 0; i < w.positions.length; i++) if (anyPatternMatches(w.positions[i]!, name)) mask |= 1 << i;
  return mask;
}

/* ----------------------------------------------------------------------------------------------
 * Quantity scopes and grants, read by their rules
 * -------------------------------------------------------------------------------------------- */

/**
 * The value a `limit N distinct ATTR` counts for this request: ATTR's value, or for `distinct
 * resource` the resource's path, else its id. Undefined when the request has none.
 */
export function distinctLimitValue(op: Extract<OpIR, { op: "distinctLimit" }>, ev: Event): string | number | undefined {
  const a = op.attribute;
  if (a.root === "resource" && a.segments.length === 0) {
    const v = ev.resourcePath ?? ev.resourceId;
    return typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) ? v : undefined;
  }
  return readOwnAttribute(a, ev);
}

/**
 * Whether a `limit N distinct ATTR` admits value `v` at `now`: a value already among the live uses
 * always does (re-reading the same secret is fine); another one only while fewer than N values are
 * live. When it does not, the decision may change as the oldest value's window ends.
 */
export function distinctLimitAdmits(op: Extract<OpIR, { op: "distinctLimit" }>, r: Regs | null, now: number, v: string | number, sink: ChangeSink): boolean {
  const a = pairsAt(r, op.slot);
  let live = 0;
  let oldest = Infinity;
  for (let i = 0; i < a.length; i += 2) {
    const t = a[i + 1] as number;
    if (op.window !== null && !(now - t < op.window)) continue;
    if (a[i] === v) return true;
    live++;
    if (t < oldest) oldest = t;
  }
  if (live < op.count) return true;
  if (op.window !== null) sink.change(oldest + op.window);
  return false;
}

/** Records a use of value `v` of a `limit N distinct ATTR` at `now`: the value's last use moves to now; values out of the window go. */
export function useDistinctLimit(op: Extract<OpIR, { op: "distinctLimit" }>, r: unknown[], now: number, v: string | number): void {
  const a = pairsAt(r, op.slot);
  const out: unknown[] = [];
  for (let i = 0; i < a.length; i += 2) {
    if (a[i] === v) continue;
    const t = a[i + 1] as number;
    if (op.window === null || now - t < op.window) out.push(a[i], t);
  }
  out.push(v, now);
  // Never more than N live values (a use is recorded only when admitted); the oldest go first.
  while (out.length > op.count * 2) out.splice(0, 2);
  r[op.slot] = out;
}

/** Uses of a `limit` in force at `now`. */
export function limitUses(op: Extract<OpIR, { op: "limit" }>, r: Regs | null, now: number, sink: ChangeSink): number {
  if (op.window === null) return opt(r, op.slot) ?? 0;
  const ts = timesAt(r, op.slot, op.count);
  let n = 0;
  let oldest = Infinity;
  for (const t of ts)
    if (now - t < op.window) {
      n++;
      if (t < oldest) oldest = t;
    }
  if (n >= op.count) sink.change(oldest + op.window);
  return n;
}

/** Whether a `valid for` grant still holds at `now` (true when not used yet). */
export function grantHolds(op: Extract<OpIR, { op: "grant" }>, r: Regs | null, now: number, sink: ChangeSink): boolean {
  const start = opt(r, op.slot);
  const end = (start ?? now) + op.duration;
  if (now < end) {
    sink.change(end);
    return true;
  }
  return false;
}

/* ----------------------------------------------------------------------------------------------
 * Updates
 * -------------------------------------------------------------------------------------------- */

/**
 * Writes an operator's register after an event it counts into `r`, the partition's registers being
 * built for the new state (a fresh copy, never a stored array).
 */
export type OpWrite = (r: unknown[], now: number, ev: Event) => void;

/** What an update does to its slots; `applyUpdate` switches on it. */
export const enum UpdateKind {
  /** `r[slot] = now` (after, since). */
  Stamp,
  /** `r[slot] = NONE` (the `until` of an after). */
  Clear,
  /** The latest time moves down a slot, now goes in (gap). */
  Shift,
  /** Append to a time list of `width` slots, dropping times outside `window` (count, regularity). */
  Append,
  /** GCRA: `window` is the tolerance, `interval` the emission interval (rate). */
  Rate,
  /** Stage registers of a sequence: `stages` the stages this event is, `cancels` for its `until`. */
  Sequence,
  /** Anything else (distinct, workflow): `write`. */
  Closure,
}

/**
 * One operator an event of a given name and category feeds, with everything the name and category
 * decide worked out when the action index is built: the update does no pattern matching, and
 * `applyUpdate` reads it with one switch (one call per update, whatever the operator).
 */
export class OpUpdate {
  constructor(
    readonly kind: UpdateKind,
    /** The operator's key group: whose registers the update changes. */
    readonly group: number,
    readonly slot: number,
    readonly width: number,
    readonly window: number,
    readonly interval: number,
    readonly stages: number,
    readonly cancels: boolean,
    readonly write: OpWrite | null,
  ) {}
}

/** What an event of `name` and category `cat` does to `op` (null when it does not feed it). */
export function opUpdate(op: OpIR, name: string, cat: Category, wf: readonly WorkflowIR[]): OpUpdate | null {
  const s = op.slot;
  const make = (kind: UpdateKind, width = 1, window = 0, interval = 0, stages = 0, cancels = false, write: OpWrite | null = null) =>
    new OpUpdate(kind, op.group, s, width, window, interval, stages, cancels, write);
  switch (op.op) {
    case "after":
      // An event that is both a Z and an X counts as an X.
      if (selectorMatches(op.events, name, cat)) return make(UpdateKind.Stamp);
      return op.until !== null && selectorMatches(op.until, name, cat) ? make(UpdateKind.Clear) : null;
    case "since":
      return selectorMatches(op.events, name, cat) ? make(UpdateKind.Stamp) : null;
    case "gap":
      return selectorMatches(op.events, name, cat) ? make(UpdateKind.Shift) : null;
    case "count":
      return selectorMatches(op.events, name, cat) ? make(UpdateKind.Append, op.capacity, op.window) : null;
    case "regularity":
      return selectorMatches(op.events, name, cat) ? make(UpdateKind.Append, op.samples + 1, Infinity) : null;
    case "rate": {
      if (!selectorMatches(op.events, name, cat)) return null;
      const { interval, tolerance } = gcra(op.limit, op.per);
      return make(UpdateKind.Rate, 1, tolerance, interval);
    }
    case "sequence": {
      let stages = 0;
      op.stages.forEach((sel, i) => (stages |= selectorMatches(sel, name, cat) ? 1 << i : 0));
      const cancels = op.until !== null && selectorMatches(op.until, name, cat);
      if (stages === 0 && !cancels) return null;
      return make(UpdateKind.Sequence, op.stages.length, op.window, 0, stages, cancels);
    }
    case "distinct": {
      if (!(op.events === null ? cat !== "denied" : selectorMatches(op.events, name, cat))) return null;
      const { attribute, window, capacity } = op;
      return make(UpdateKind.Closure, 1, 0, 0, 0, false, (r, now, ev) => {
        const v = readOwnAttribute(attribute, ev);
        const a = pairsAt(r, s);
        if (v === undefined) return;
        const out: unknown[] = [];
        for (let i = 0; i < a.length; i += 2) {
          if (a[i] === v) continue;
          const t = a[i + 1] as number;
          if (now - t < window) out.push(a[i], t);
        }
        out.push(v, now);
        while (out.length > capacity * 2) out.splice(0, 2);
        r[s] = out;
      });
    }
    case "workflow": {
      const w = wf[op.workflow]!;
      const positions = positionsOf(w, name);
      if (cat === "denied" || positions === 0) return null;
      return make(UpdateKind.Closure, 1, 0, 0, 0, false, (r) => {
        const next = workflowStepTo(w, opt(r, s) ?? 0, positions);
        // A deviation that happened anyway: the workflow continues from the step(s) this action names.
        r[s] = next !== 0 ? next : positions;
      });
    }
    default:
      return null;
  }
}

/** Applies update `u` to `r`, the registers being built for the new state, at the key's time `now`. */
export function applyUpdate(u: OpUpdate, r: unknown[], now: number, ev: Event): void {
  const s = u.slot;
  switch (u.kind) {
    case UpdateKind.Stamp:
      r[s] = now;
      return;
    case UpdateKind.Clear:
      r[s] = NONE;
      return;
    case UpdateKind.Shift:
      r[s] = at(r, s + 1);
      r[s + 1] = now;
      return;
    case UpdateKind.Append:
      appendTime(r, s, u.width, now, u.window);
      return;
    case UpdateKind.Rate: {
      const tat = opt(r, s);
      if (tat !== null && now < tat - u.window) return; // non-conforming: GCRA leaves TAT as is
      r[s] = Math.max(tat ?? now, now) + u.interval;
      return;
    }
    case UpdateKind.Sequence: {
      const n = u.width;
      const window = u.window;
      const stages = u.stages;
      for (let i = 0; i < n; i++) {
        const b = at(r, s + i);
        if (u.cancels || (b !== NONE && !(now - b < window))) r[s + i] = NONE;
      }
      // Highest stage first, so one event never advances two stages.
      for (let i = n - 1; i >= 1; i--) {
        const prev = r[s + i - 1] as number;
        if (prev !== NONE && stages & (1 << i)) {
          const cur = r[s + i] as number;
          if (cur === NONE || prev > cur) r[s + i] = prev;
        }
      }
      if (stages & 1) r[s] = now;
      return;
    }
    default:
      u.write!(r, now, ev);
  }
}

/**
 * Appends `now` to the time list at `off` of `width` slots (oldest first, then NONE): keeps the
 * newest `width - 1` stored times still within `window` of `now`, then `now`. In place: a kept time
 * only ever moves to a lower slot.
 */
function appendTime(r: unknown[], off: number, width: number, now: number, window: number): void {
  let filled = 0;
  while (filled < width && at(r, off + filled) !== NONE) filled++;
  let j = 0;
  for (let i = Math.max(0, filled + 1 - width); i < filled; i++) {
    const t = r[off + i] as number;
    if (now - t < window) r[off + j++] = t;
  }
  r[off + j++] = now;
  for (; j < width; j++) r[off + j] = NONE;
}

/** Records one more use of a `limit` at `now` in `r`. */
export function useLimit(op: Extract<OpIR, { op: "limit" }>, r: unknown[], now: number): void {
  const s = op.slot;
  if (op.window === null) {
    r[s] = (opt(r, s) ?? 0) + 1;
    return;
  }
  appendTime(r, s, op.count, now, op.window);
}

/** Starts a `valid for` grant at its first use. */
export function useGrant(op: Extract<OpIR, { op: "grant" }>, r: unknown[], now: number): void {
  if (opt(r, op.slot) === null) r[op.slot] = now;
}

/** Sets label `label` of the labels register at `slot` until `until` (`true`: the rest of the session). */
export function addLabel(r: unknown[], slot: number, label: number, until: number | true): void {
  const i = slot + label;
  const cur = opt(r, i);
  if (cur === FOREVER) return;
  r[i] = until === true ? FOREVER : cur === null ? until : Math.max(cur, until);
}

function readOwnAttribute(path: { root: string; segments: readonly string[]; text: string }, ev: Event): string | number | undefined {
  let root: unknown;
  if (path.root === "action") {
    const seg = path.segments[0];
    if (path.segments.length !== 1) return undefined;
    return seg === "name" ? ev.name : seg === "domain" ? domainOf(ev.name) : undefined;
  }
  if (path.root === "principal") root = ev.principal;
  else if (path.root === "resource") root = ev.resource;
  else root = ev.context;
  const v = readOwn(root, path.segments, path.text, undefined);
  if (v instanceof Failure || (typeof v !== "string" && typeof v !== "number")) return undefined;
  return v;
}

/** The first segment of a dotted action name: `invoice` for `invoice.export`. */
export function domainOf(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0 ? name : name.slice(0, dot);
}
