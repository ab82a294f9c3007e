import type { EventFilter } from "../ast/nodes.js";
import type { EventSelIR, OpIR, WorkflowIR } from "../compile/ir.js";
import { Failure, readOwn, type Value } from "./attributes.js";
import { actionPatternMatches } from "./glob.js";
import { CorruptState } from "./pmap.js";
import type { Event } from "./request.js";

/**
 * The register machines behind the history operators. Each operator owns one slot of a key
 * partition; its register is a small JSON value whose size is fixed by the policy, never by the
 * history length:
 *
 * | operator   | register                                  | bound               |
 * |------------|-------------------------------------------|---------------------|
 * | after      | time of the latest X not cancelled by Z   | 1 number            |
 * | since      | time of the latest X                      | 1 number            |
 * | gap        | times of the two latest X                 | 2 numbers           |
 * | count      | times of the latest X, ascending          | capacity = N + 1    |
 * | distinct   | [value, last seen] of the latest values   | capacity = N + 1    |
 * | rate       | GCRA theoretical arrival time             | 1 number            |
 * | regularity | times of the latest X                     | samples + 1         |
 * | sequence   | per stage, start of the newest partial    | stages              |
 * | workflow   | bit set of current positions              | 1 number            |
 * | limit      | uses (count, or times when windowed)      | 1 number, or N      |
 * | grant      | time of first use                         | 1 number            |
 * | labels     | per label: expiry time or true            | labels              |
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

type Reg = unknown;

function num(r: Reg): number | null {
  if (r === null || r === undefined) return null;
  if (typeof r !== "number") throw new CorruptState("register: expected a number");
  return r;
}

function arr(r: Reg): readonly unknown[] {
  if (r === null || r === undefined) return EMPTY;
  if (!Array.isArray(r)) throw new CorruptState("register: expected an array");
  return r;
}

const EMPTY: readonly unknown[] = Object.freeze([]);

/** A register of timestamps, every element checked. */
function times(r: Reg): readonly number[] {
  const a = arr(r);
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== "number") throw new CorruptState("register: expected times");
  return a as readonly number[];
}

/** A register of timestamps whose elements the caller checks one by one with `timeAt` (hot paths). */
function uncheckedTimes(r: Reg): readonly number[] {
  return arr(r) as readonly number[];
}

function timeAt(ts: readonly number[], i: number): number {
  const t = ts[i];
  if (typeof t !== "number") throw new CorruptState("register: expected times");
  return t;
}

/* ----------------------------------------------------------------------------------------------
 * Reads
 * -------------------------------------------------------------------------------------------- */

/**
 * The operator's value at `now` for the event being decided. Records in `sink` when the value
 * changes by the passage of time alone.
 */
export function readOp(op: OpIR, reg: Reg, now: number, ev: Event, sink: ChangeSink, wf: readonly WorkflowIR[]): Value {
  switch (op.op) {
    case "after": {
      const last = num(reg);
      if (last === null) return false;
      if (op.window === null) return true;
      if (now - last < op.window) {
        sink.change(last + op.window);
        return true;
      }
      return false;
    }
    case "since": {
      const last = num(reg);
      return last === null ? Infinity : now - last;
    }
    case "gap": {
      const a = arr(reg);
      const prev = a.length > 0 ? a[0] : null;
      const last = a.length > 1 ? a[1] : null;
      if ((prev !== null && typeof prev !== "number") || (last !== null && typeof last !== "number")) throw new CorruptState("register: gap");
      if (namesMatch(op.events, ev.name, ev.isSignal)) return last === null ? Infinity : now - last;
      return prev === null || last === null ? Infinity : last - prev;
    }
    case "count": {
      const ts = uncheckedTimes(reg);
      let n = 0;
      let oldest = Infinity;
      for (let i = 0; i < ts.length; i++) {
        const t = timeAt(ts, i);
        if (now - t < op.window) {
          n++;
          if (t < oldest) oldest = t;
        }
      }
      if (n > 0) sink.change(oldest + op.window);
      return n;
    }
    case "distinct": {
      const a = arr(reg);
      let n = 0;
      let oldest = Infinity;
      for (let i = 1; i < a.length; i += 2) {
        const t = a[i];
        if (typeof t !== "number") throw new CorruptState("register: distinct");
        if (now - t < op.window) {
          n++;
          if (t < oldest) oldest = t;
        }
      }
      if (n > 0) sink.change(oldest + op.window);
      return n;
    }
    case "rate": {
      const tat = num(reg);
      if (tat === null) return false;
      const { interval, tolerance } = gcra(op.limit, op.per);
      if (now < tat - tolerance) {
        sink.change(tat - tolerance);
        return true;
      }
      return false;
    }
    case "regularity": {
      // When it changes with time is worked out by the comparison (regularityCrossing).
      const ts = times(reg).slice();
      if (namesMatch(op.events, ev.name, ev.isSignal)) ts.push(now);
      return coefficientOfVariation(ts, op.samples);
    }
    case "sequence": {
      const best = arr(reg);
      const start = best[op.stages.length - 1];
      if (start === null || start === undefined) return false;
      if (typeof start !== "number") throw new CorruptState("register: sequence");
      if (now - start < op.window) {
        sink.change(start + op.window);
        return true;
      }
      return false;
    }
    case "workflow": {
      const w = wf[op.workflow]!;
      if (!inAlphabet(w, ev.name)) return false;
      return workflowStep(w, num(reg) ?? 0, ev.name) === 0;
    }
    case "limit":
    case "grant":
    case "labels":
      throw new Error(`${op.op} is read through its rule`);
  }
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
export function regularityCrossing(op: Extract<OpIR, { op: "regularity" }>, reg: Reg, now: number, ev: Event, threshold: number): number | null {
  if (!namesMatch(op.events, ev.name, ev.isSignal)) return null;
  const ts = times(reg);
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

export function inAlphabet(w: WorkflowIR, name: string): boolean {
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

/** Uses of a `limit` in force at `now`. */
export function limitUses(op: Extract<OpIR, { op: "limit" }>, reg: Reg, now: number, sink: ChangeSink): number {
  if (op.window === null) return num(reg) ?? 0;
  const ts = times(reg);
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
export function grantHolds(op: Extract<OpIR, { op: "grant" }>, reg: Reg, now: number, sink: ChangeSink): boolean {
  const start = num(reg);
  const end = (start ?? now) + op.duration;
  if (now < end) {
    sink.change(end);
    return true;
  }
  return false;
}

/** Whether label `label` is on the session at `now`. */
export function hasLabel(reg: Reg, label: number, now: number, sink: ChangeSink): boolean {
  const a = arr(reg);
  const v = a[label];
  if (v === true) return true;
  if (v === null || v === undefined) return false;
  if (typeof v !== "number") throw new CorruptState("register: labels");
  if (now < v) {
    sink.change(v);
    return true;
  }
  return false;
}

/* ----------------------------------------------------------------------------------------------
 * Updates
 * -------------------------------------------------------------------------------------------- */

/**
 * One operator an event of a given name and category feeds, with everything the name and category
 * decide worked out when the action index is built: the update does no pattern matching.
 */
export interface OpUpdate {
  readonly op: OpIR;
  /** The event is an X of the operator (`events`); for a sequence, bit i: the event is stage i. */
  readonly stages: number;
  /** The event is a Z of the operator's `until`. */
  readonly cancels: boolean;
  /** For a workflow: the positions whose step names the event. */
  readonly positions: number;
}

/** What an event of `name` and category `cat` does to `op` (null when it does not feed it). */
export function opUpdate(op: OpIR, name: string, cat: Category, wf: readonly WorkflowIR[]): OpUpdate | null {
  let stages = 0;
  let cancels = false;
  let positions = 0;
  switch (op.op) {
    case "after":
      stages = selectorMatches(op.events, name, cat) ? 1 : 0;
      cancels = op.until !== null && selectorMatches(op.until, name, cat);
      break;
    case "since":
    case "gap":
    case "count":
    case "rate":
    case "regularity":
      stages = selectorMatches(op.events, name, cat) ? 1 : 0;
      break;
    case "distinct":
      stages = (op.events === null ? cat !== "denied" : selectorMatches(op.events, name, cat)) ? 1 : 0;
      break;
    case "sequence":
      op.stages.forEach((s, i) => (stages |= selectorMatches(s, name, cat) ? 1 << i : 0));
      cancels = op.until !== null && selectorMatches(op.until, name, cat);
      break;
    case "workflow": {
      const w = wf[op.workflow]!;
      positions = positionsOf(w, name);
      stages = cat !== "denied" && positions !== 0 ? 1 : 0;
      break;
    }
    default:
      return null;
  }
  return stages === 0 && !cancels ? null : { op, stages, cancels, positions };
}

/**
 * The register after an event the operator counts (`u` says how: see `opUpdate`). Pure: returns a
 * new value, never mutates `reg`.
 */
export function updateOp(u: OpUpdate, reg: Reg, now: number, ev: Event, wf: readonly WorkflowIR[]): Reg {
  const op = u.op;
  switch (op.op) {
    case "after": {
      // An event that is both a Z and an X counts as an X: cancel first, then record.
      if (u.stages !== 0) return now;
      return u.cancels ? null : num(reg);
    }
    case "since":
      return now;
    case "gap": {
      const a = arr(reg);
      const last = a.length > 1 ? a[1] : null;
      if (last !== null && typeof last !== "number") throw new CorruptState("register: gap");
      return [last, now];
    }
    case "count": {
      const ts = uncheckedTimes(reg);
      const keepFrom = Math.max(0, ts.length + 1 - op.capacity);
      let kept = 0;
      for (let i = keepFrom; i < ts.length; i++) if (now - timeAt(ts, i) < op.window) kept++;
      const out = new Array<number>(kept + 1);
      let j = 0;
      for (let i = keepFrom; i < ts.length; i++) {
        const t = ts[i]!;
        if (now - t < op.window) out[j++] = t;
      }
      out[j] = now;
      return out;
    }
    case "distinct": {
      const v = readOwnAttribute(op.attribute, ev);
      if (v === undefined) return reg ?? null;
      const a = arr(reg);
      const out: unknown[] = [];
      for (let i = 0; i < a.length; i += 2) {
        if (a[i] === v) continue;
        const t = a[i + 1] as number;
        if (now - t < op.window) out.push(a[i], t);
      }
      out.push(v, now);
      while (out.length > op.capacity * 2) out.splice(0, 2);
      return out;
    }
    case "rate": {
      const tat = num(reg);
      const interval = op.per / op.limit;
      if (tat !== null && now < tat - (op.per - interval)) return tat; // non-conforming: GCRA leaves TAT as is
      return Math.max(tat ?? now, now) + interval;
    }
    case "regularity": {
      const ts = times(reg);
      const out = ts.length >= op.samples + 1 ? ts.slice(ts.length - op.samples) : ts.slice();
      out.push(now);
      return out;
    }
    case "sequence": {
      const n = op.stages.length;
      const old = arr(reg);
      const best = new Array<number | null>(n);
      for (let i = 0; i < n; i++) {
        const b = old[i];
        best[i] = !u.cancels && typeof b === "number" && now - b < op.window ? b : null;
      }
      // Highest stage first, so one event never advances two stages.
      for (let i = n - 1; i >= 1; i--) {
        const prev = best[i - 1]!;
        if (prev !== null && u.stages & (1 << i)) {
          const cur = best[i]!;
          best[i] = cur === null || prev > cur ? prev : cur;
        }
      }
      if (u.stages & 1) best[0] = now;
      return best;
    }
    case "workflow": {
      const w = wf[op.workflow]!;
      const next = workflowStepTo(w, num(reg) ?? 0, u.positions);
      // A deviation that happened anyway: the workflow continues from the step(s) this action names.
      return next !== 0 ? next : u.positions;
    }
    case "limit":
    case "grant":
    case "labels":
      throw new Error(`${op.op} is updated through its rule`);
  }
}

/** The register of a `limit` after one more use at `now`. */
export function useLimit(op: Extract<OpIR, { op: "limit" }>, reg: Reg, now: number): Reg {
  if (op.window === null) return (num(reg) ?? 0) + 1;
  const ts = times(reg).filter((t) => now - t < op.window!);
  ts.push(now);
  while (ts.length > op.count) ts.shift();
  return ts;
}

/** The register of a `valid for` grant after a use at `now` (the first use starts it). */
export function useGrant(reg: Reg, now: number): Reg {
  return num(reg) ?? now;
}

/** The labels register with `label` set until `until` (`true`: for the rest of the session). */
export function addLabel(reg: Reg, label: number, count: number, until: number | true): Reg {
  const a = arr(reg);
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) out.push(a[i] ?? null);
  const cur = out[label];
  if (cur === true) return out;
  out[label] = until === true ? true : typeof cur === "number" ? Math.max(cur, until) : until;
  return out;
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
