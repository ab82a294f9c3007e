import type { CompareOp } from "../ast/nodes.js";
import type { EventSelIR, OpIR, WorkflowIR } from "../compile/ir.js";
import { Failure, type Value } from "./attributes.js";
import type { EvalContext } from "./context.js";
import { coefficientOfVariation, currentValue, FOREVER, gcra, inAlphabet, nameTest, NONE, selectorMatches, timesAt, workflowStep } from "./operators.js";
import type { Event } from "./request.js";

/**
 * The readers of the history operators: what each operator's value is at the time of a decision,
 * read from its key's registers. This is the one place that says it; rules reach it two ways, both
 * through `readHistory`:
 *
 * - a rule whose condition is history readings joined by `and` (`after(X within D)`,
 *   `count(X ...) >= N`, `gap(X) < D`, `session has L`, each perhaps under `not`) keeps them as
 *   `HistoryRead` records, which `matchTerms` reads in one loop: one call per rule;
 * - any other condition is a tree of closures (src/compile/generate.ts) whose history leaves call
 *   `readHistory` with the same records.
 *
 * A read reports through `c.change` when its value would change by the passage of time alone.
 */

export const enum ReadKind {
  /** `after(X)` without a window: X happened. */
  Ever,
  /** `after(X within D)` and `sequence(...)`: the time in `slot` is within `window` of now. */
  Within,
  Since,
  Gap,
  Count,
  Distinct,
  /** `rate(...)`: `window` is the GCRA tolerance. */
  Rate,
  Regularity,
  Workflow,
  Label,
}

export const enum Compare {
  None,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
}

export const COMPARE_CODE: Readonly<Record<CompareOp, Compare>> = { "==": Compare.Eq, "!=": Compare.Ne, "<": Compare.Lt, "<=": Compare.Le, ">": Compare.Gt, ">=": Compare.Ge };

/**
 * One reading of a history operator, with everything fixed when the policy is compiled; as a term
 * of a condition it also carries its comparison with a constant and its negation.
 */
export class HistoryRead {
  constructor(
    readonly kind: ReadKind,
    readonly group: number,
    /** The register slot the reading starts at (for a label: the label's own slot). */
    readonly slot: number,
    /** after / sequence / count / distinct window; rate: the GCRA tolerance. */
    readonly window: number,
    /** count: the capacity of its time list; regularity: its samples. */
    readonly capacity: number,
    /** gap / regularity: whether the request being decided is one of the operator's events. */
    readonly isX: ((ev: Event) => boolean) | null,
    readonly workflow: WorkflowIR | null,
    /** As a term: the comparison with `constant`, the operator on the left unless `flipped`. */
    readonly cmp: Compare,
    readonly constant: number,
    readonly flipped: boolean,
    /** As a term: whether it is under `not`. */
    readonly negate: boolean,
    /**
     * count / distinct `including this`: what the request being decided adds — for a count whether
     * it is an X (true or undefined), for a distinct its value of the attribute (undefined: none).
     */
    readonly current: ((ev: Event) => unknown) | null = null,
    /** count / gap: the events its time list records, so that a recheck can leave the held decision's own event out. */
    readonly events: EventSelIR | null = null,
  ) {}

  /** This reading as a term of a condition. */
  asTerm(cmp: Compare, constant: number, flipped: boolean, negate: boolean): HistoryRead {
    return new HistoryRead(this.kind, this.group, this.slot, this.window, this.capacity, this.isX, this.workflow, cmp, constant, flipped, negate, this.current, this.events);
  }
}

/**
 * The reading of operator `op` (a `labels` operator: of its label `label`); `current`: a count or
 * distinct read `including this`, which counts the request being decided as if it were allowed.
 */
export function readingOf(op: OpIR, workflows: readonly WorkflowIR[], label = 0, current = false): HistoryRead {
  const events = op.op === "count" || op.op === "gap" ? op.events : null;
  const make = (kind: ReadKind, slot = op.slot, window = 0, capacity = 0, isX: ((ev: Event) => boolean) | null = null, wf: WorkflowIR | null = null) =>
    new HistoryRead(kind, op.group, slot, window, capacity, isX, wf, Compare.None, 0, false, false, current ? currentValue(op) : null, events);
  switch (op.op) {
    case "after":
      return op.window === null ? make(ReadKind.Ever) : make(ReadKind.Within, op.slot, op.window);
    case "sequence":
      return make(ReadKind.Within, op.slot + op.stages.length - 1, op.window);
    case "since":
      return make(ReadKind.Since);
    case "gap":
      return make(ReadKind.Gap, op.slot, 0, 0, nameTest(op.events));
    case "count":
      return make(ReadKind.Count, op.slot, op.window, op.capacity);
    case "distinct":
      return make(ReadKind.Distinct, op.slot, op.window);
    case "rate":
      return make(ReadKind.Rate, op.slot, gcra(op.limit, op.per).tolerance);
    case "regularity":
      return make(ReadKind.Regularity, op.slot, 0, op.samples, nameTest(op.events));
    case "workflow":
      return make(ReadKind.Workflow, op.slot, 0, 0, null, workflows[op.workflow]!);
    case "labels":
      return make(ReadKind.Label, op.slot + label);
    case "limit":
    case "distinctLimit":
    case "grant":
      throw new Error(`${op.op} is read through its rule`);
  }
}

/** Whether a reading's value moves with the request's own time (since; gap when the request is an X). */
export function movesWithTime(kind: ReadKind): boolean {
  return kind === ReadKind.Since || kind === ReadKind.Gap;
}

/**
 * For a value `value` that grows with the request's time (since, gap) compared with `constant`: the
 * comparison flips when the value crosses the constant, which `c` records.
 */
export function noteCrossing(value: number, constant: number, c: EvalContext): void {
  if (value === Infinity || !Number.isFinite(value)) return;
  const time = c.ev.time;
  const crossing = time - value + constant;
  if (crossing > time) c.change(crossing);
}

/**
 * The value of reading `h` for the decision in `c`: a boolean (after, rate, sequence, deviates,
 * session has), a number (count, distinct, since and gap in ms), `null` (regularity with too few
 * samples), or a Failure (the key is missing, R305).
 */
export function readHistory(h: HistoryRead, c: EvalContext): Value {
  // deviates(W) is false for an action outside W's alphabet, whether or not the key is there.
  if (h.kind === ReadKind.Workflow && !inAlphabet(h.workflow!, c.ev.name)) return false;
  const g = h.group;
  const p = c.partition(g);
  if (p instanceof Failure) return p;
  const now = c.nows[g]!;
  let r: readonly unknown[] | null = null;
  // Every reading reads the register at its slot: `first` (NONE without a partition).
  let first = NONE;
  if (p !== null) {
    c.change(p.x);
    r = p.r;
    first = r[h.slot] as number;
  }
  switch (h.kind) {
    case ReadKind.Ever:
      return first !== NONE;
    case ReadKind.Within: {
      if (first === NONE || !(now - first < h.window)) return false;
      c.change(first + h.window);
      return true;
    }
    case ReadKind.Since:
      return first === NONE ? Infinity : now - first;
    case ReadKind.Gap: {
      let last = r === null ? NONE : (r[h.slot + 1] as number);
      if (h.isX!(c.ev)) {
        // A recheck: the latest X is the held request itself; the gap is from the one before.
        if (last === c.ownTime && ownFed(h, c)) last = first;
        return last === NONE ? Infinity : now - last;
      }
      return first === NONE || last === NONE ? Infinity : last - first;
    }
    case ReadKind.Count: {
      // `including this`: the request being decided is one more X, now (inside any window).
      let n = h.current !== null && h.current(c.ev) === true ? 1 : 0;
      if (r === null) return n;
      let oldest = Infinity;
      const s = h.slot;
      const window = h.window;
      // A recheck leaves the held request's own recorded time out (the list keeps one time more
      // than the comparison needs, so the count stays exact without it).
      let own = ownFed(h, c);
      for (let i = 0; i < h.capacity; i++) {
        const t = r[s + i] as number;
        if (t === NONE) break;
        if (own && t === c.ownTime) {
          own = false;
          continue;
        }
        if (now - t < window) {
          n++;
          if (t < oldest) oldest = t;
        }
      }
      if (oldest !== Infinity) c.change(oldest + window);
      return n;
    }
    case ReadKind.Distinct: {
      const a = r === null || first === NONE ? EMPTY : (r[h.slot] as unknown as readonly unknown[]);
      // `including this`: the request's own value counts unless a live entry already has it.
      const mine = h.current === null ? undefined : h.current(c.ev);
      let seen = mine === undefined;
      let n = 0;
      let oldest = Infinity;
      for (let i = 1; i < a.length; i += 2) {
        const t = a[i] as number;
        if (now - t < h.window) {
          n++;
          if (a[i - 1] === mine) seen = true;
          if (t < oldest) oldest = t;
        }
      }
      if (!seen) n++;
      if (oldest !== Infinity) c.change(oldest + h.window);
      return n;
    }
    case ReadKind.Rate: {
      if (first === NONE || !(now < first - h.window)) return false;
      c.change(first - h.window);
      return true;
    }
    case ReadKind.Regularity: {
      // When it changes with time is worked out by the comparison (regularityCrossing).
      const ts = timesAt(r, h.slot, h.capacity + 1);
      if (h.isX!(c.ev)) ts.push(now);
      return coefficientOfVariation(ts, h.capacity);
    }
    case ReadKind.Workflow:
      return workflowStep(h.workflow!, first === NONE ? 0 : first, c.ev.name) === 0;
    default: {
      // Label: its expiry, FOREVER for the rest of the session.
      if (first === FOREVER) return true;
      if (first === NONE || !(now < first)) return false;
      c.change(first);
      return true;
    }
  }
}

const EMPTY: readonly unknown[] = Object.freeze([]);

/** Whether `c` is a recheck of a held decision whose own event this reading's operator recorded. */
function ownFed(h: HistoryRead, c: EvalContext): boolean {
  return c.ownTime === c.ownTime && h.events !== null && selectorMatches(h.events, c.ev.name, c.ownCategory);
}

/**
 * The outcome of a rule whose condition is `terms`: false at the first term that is false (later
 * terms are not read), else the first failure, else true. As the closures of the same condition.
 */
export function matchTerms(terms: readonly HistoryRead[], c: EvalContext): true | false | Failure {
  let failure: Failure | null = null;
  for (let i = 0; i < terms.length; i++) {
    const v = termHolds(terms[i]!, c);
    if (v === false) return false;
    if (v !== true) failure ??= v;
  }
  return failure ?? true;
}

/** A term's truth: the reading, compared with the term's constant (if any), perhaps negated. */
function termHolds(t: HistoryRead, c: EvalContext): boolean | Failure {
  const v = readHistory(t, c);
  if (v instanceof Failure) return v;
  let holds: boolean;
  if (t.cmp === Compare.None) holds = v === true;
  else {
    const n = v as number;
    if (movesWithTime(t.kind)) noteCrossing(n, t.constant, c);
    holds = t.flipped ? compare(t.cmp, t.constant, n) : compare(t.cmp, n, t.constant);
  }
  return t.negate ? !holds : holds;
}

export function compare(cmp: Compare, a: number, b: number): boolean {
  switch (cmp) {
    case Compare.Eq:
      return a === b;
    case Compare.Ne:
      return a !== b;
    case Compare.Lt:
      return a < b;
    case Compare.Le:
      return a <= b;
    case Compare.Gt:
      return a > b;
    default:
      return a >= b;
  }
}
