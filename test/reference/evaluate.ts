import type { CompareOp, EventSelector, Expr, HasExpr, KeyRef, TemporalCall, WorkflowDecl } from "../../src/ast/nodes.js";
import { syntheticSpan } from "../../src/ast/span.js";
import { nameMatches, pastOfKey, withinWindow, type HistoryEvent, type KeyPast } from "./history.js";
import { globMatches } from "./match.js";
import { isPlainObject, keyValue, ownProperty, readPath, sessionKey, type Subject } from "./subject.js";
import * as op from "./temporal.js";
import { and, fail, isAbsent, isError, not, or, type EvalError, type Truth, type Value } from "./truth.js";
import { deviates, inAlphabet } from "./workflow.js";

/** A `label session += L [for D]` clause of a rule. */
export interface LabelGrant {
  readonly rule: string;
  readonly label: string;
  readonly durationMs: number | null;
}

/** Everything a condition can read. */
export interface EvalContext {
  readonly history: readonly HistoryEvent[];
  readonly subject: Subject;
  readonly now: number;
  /** True when deciding a request (gap and regularity then include it), false when observing a signal. */
  readonly isRequest: boolean;
  readonly workflows: ReadonlyMap<string, WorkflowDecl>;
  readonly labels: readonly LabelGrant[];
}

/** A condition's three-valued truth. */
export function evalCondition(e: Expr, ctx: EvalContext): Truth {
  switch (e.kind) {
    case "BinaryExpr":
      return e.op === "and" ? and(evalCondition(e.left, ctx), evalCondition(e.right, ctx)) : or(evalCondition(e.left, ctx), evalCondition(e.right, ctx));
    case "NotExpr":
      return not(evalCondition(e.operand, ctx));
    case "CompareExpr":
      return compare(e.op, evalValue(e.left, ctx), evalValue(e.right, ctx));
    case "InExpr":
      return member(evalValue(e.element, ctx), evalValue(e.collection, ctx));
    case "LikeExpr": {
      const v = evalValue(e.subject, ctx);
      if (isError(v)) return v;
      if (isAbsent(v)) return false;
      return typeof v.value === "string" ? globMatches(e.pattern.value, v.value) : fail("R302", "like needs a string");
    }
    case "HasExpr":
      return has(e, ctx);
    case "SessionHasExpr":
      return sessionHas(e.label.value, ctx);
    case "AfterCall":
    case "RateCall":
    case "SequenceCall":
    case "DeviatesCall":
      return temporalTruth(e, ctx);
    default: {
      const v = evalValue(e, ctx);
      if (isError(v)) return v;
      if (isAbsent(v)) return false;
      return typeof v.value === "boolean" ? v.value : fail("R302", "a condition must be true or false");
    }
  }
}

/** An operand's value. */
export function evalValue(e: Expr, ctx: EvalContext): Value {
  switch (e.kind) {
    case "StringLit":
    case "NumberLit":
    case "BoolLit":
      return { value: e.value };
    case "DurationLit":
      return { value: e.ms };
    case "SetLit":
      return { value: e.elements.map((x) => (x.kind === "DurationLit" ? x.ms : x.value)) };
    case "Path":
      return readPath(ctx.subject, e);
    case "SinceCall":
    case "GapCall":
    case "CountCall":
    case "DistinctCall":
    case "RegularityCall":
      return temporalValue(e, ctx);
    default: {
      const t = evalCondition(e, ctx);
      return isError(t) ? t : { value: t };
    }
  }
}

function isScalar(x: unknown): x is string | number | boolean {
  return typeof x === "string" || typeof x === "number" || typeof x === "boolean";
}

/** Comparisons; an absent history value makes every comparison false. */
function compare(opr: CompareOp, l: Value, r: Value): Truth {
  if (isError(l)) return l;
  if (isError(r)) return r;
  if (isAbsent(l) || isAbsent(r)) return false;
  const a = l.value;
  const b = r.value;
  if (opr === "==" || opr === "!=") {
    if (!isScalar(a) || !isScalar(b) || typeof a !== typeof b) return fail("R302", `cannot compare ${typeof a} with ${typeof b}`);
    return opr === "==" ? a === b : a !== b;
  }
  if (typeof a !== "number" || typeof b !== "number") return fail("R302", `${opr} compares numbers`);
  switch (opr) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}

function member(element: Value, collection: Value): Truth {
  if (isError(element)) return element;
  if (isError(collection)) return collection;
  if (isAbsent(element) || isAbsent(collection)) return false;
  const x = element.value;
  const set = collection.value;
  if (!Array.isArray(set)) return fail("R302", "in needs a set");
  if (!isScalar(x)) return fail("R302", "only a string, number or bool can be in a set");
  if (set.length > 0 && set.every((m) => typeof m !== typeof x)) return fail("R302", `a ${typeof x} cannot be in this set`);
  return set.includes(x);
}

function has(e: HasExpr, ctx: EvalContext): Truth {
  let holder: unknown;
  if (e.subject.kind === "RootRef") {
    holder = e.subject.root === "action" ? { name: ctx.subject.action, domain: ctx.subject.action.split(".")[0] } : ctx.subject[e.subject.root];
  } else {
    const v = readPath(ctx.subject, e.subject);
    if (isError(v)) return v;
    if (!("value" in v) || !isPlainObject(v.value)) return fail("R302", "has needs an entity or a record");
    holder = v.value;
  }
  const value = ownProperty(holder, e.attribute.value);
  return value !== undefined && value !== null;
}

/* ---- history --------------------------------------------------------------------------------- */

function pastOf(key: KeyRef, ctx: EvalContext): KeyPast | EvalError {
  const value = keyValue(ctx.subject, key);
  return isError(value) ? value : pastOfKey(ctx.history, key, value, ctx.now);
}

/**
 * The current request counts for gap/regularity when its name matches, whatever its outcome; a
 * `signal` filter sees signals only, so a request never counts for it.
 */
function currentIs(ctx: EvalContext, selector: EventSelector): boolean {
  return ctx.isRequest && selector.filter !== "signal" && nameMatches(selector, ctx.subject.action);
}

/** `including this`: the request being decided, counted as if it were allowed, is one of the events (never a denied or signal one). */
function currentCounts(ctx: EvalContext, selector: EventSelector | null, current: boolean): boolean {
  if (!current || !ctx.isRequest) return false;
  return selector === null || (selector.filter !== "denied" && selector.filter !== "signal" && nameMatches(selector, ctx.subject.action));
}

function temporalTruth(e: TemporalCall, ctx: EvalContext): Truth {
  switch (e.kind) {
    case "AfterCall": {
      const past = pastOf(e.key, ctx);
      return isError(past) ? past : op.after(past, e.events, e.window?.ms ?? null, e.until);
    }
    case "RateCall": {
      const past = pastOf(e.key, ctx);
      return isError(past) ? past : op.rate(past, e.events, e.limit.value, e.per.ms);
    }
    case "SequenceCall": {
      const past = pastOf(e.key, ctx);
      return isError(past) ? past : op.sequence(past, e.stages, e.window.ms, e.until);
    }
    case "DeviatesCall":
      return workflowDeviates(e.workflow.value, ctx);
    default:
      return fail("R302", `${e.kind} is not a condition`);
  }
}

function temporalValue(e: TemporalCall, ctx: EvalContext): Value {
  if (e.kind === "DeviatesCall" || e.kind === "AfterCall" || e.kind === "RateCall" || e.kind === "SequenceCall") {
    const t = temporalTruth(e, ctx);
    return isError(t) ? t : { value: t };
  }
  const past = pastOf(e.key, ctx);
  if (isError(past)) return past;
  switch (e.kind) {
    case "SinceCall":
      return { value: op.since(past, e.events) };
    case "GapCall":
      return { value: op.gap(past, e.events, currentIs(ctx, e.events)) };
    case "CountCall":
      return { value: op.count(past, e.events, e.window?.ms ?? null) + (currentCounts(ctx, e.events, e.current) ? 1 : 0) };
    case "DistinctCall":
      return { value: op.distinct(past, e.attribute, e.events, e.window?.ms ?? null, currentCounts(ctx, e.events, e.current) ? ctx.subject : null) };
    case "RegularityCall": {
      const cv = op.regularity(past, e.events, e.samples.value, currentIs(ctx, e.events));
      return cv === undefined ? { absent: true } : { value: cv };
    }
  }
}

/** `deviates(W)`: false outside W's alphabet; otherwise W's key must be readable. */
export function workflowDeviates(name: string, ctx: EvalContext): Truth {
  const wf = ctx.workflows.get(name);
  if (wf === undefined) return fail("R302", `no workflow ${name}`);
  if (!ctx.isRequest || !inAlphabet(wf, ctx.subject.action)) return false;
  const past = pastOf(wf.key, ctx);
  return isError(past) ? past : deviates(wf, past, ctx.subject.action);
}

const SESSION_KEY: KeyRef = { kind: "SessionKey", span: syntheticSpan() };

/** `session has L`: an allowed request of this session that a rule adding L decided (or flagged), still live. */
function sessionHas(label: string, ctx: EvalContext): Truth {
  if (ctx.subject.session === undefined) return fail("R305", "session has needs a session");
  const past = pastOfKey(ctx.history, SESSION_KEY, sessionKey(ctx.subject.session), ctx.now);
  const grants = ctx.labels.filter((g) => g.label === label);
  return past.events.some(({ event, time }) => {
    if (event.kind !== "request" || event.effect !== "allow") return false;
    return grants.some((g) => (event.deciding.includes(g.rule) || event.flagged.includes(g.rule)) && withinWindow(time, past.now, g.durationMs));
  });
}
