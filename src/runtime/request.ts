import { findMixedScript } from "../syntax/scripts.js";
import { isRecord, MAX_STRING } from "./attributes.js";
import { MAX_TIME, toMillis, validTime } from "./time.js";

/** A request or signal after validation: the shapes every later step may rely on. */
export interface Event {
  /** The action or the signal name. */
  readonly name: string;
  readonly isSignal: boolean;
  readonly principal: Readonly<Record<string, unknown>> | undefined;
  readonly principalKind: string | undefined;
  readonly principalId: string | undefined;
  readonly resource: Readonly<Record<string, unknown>> | undefined;
  /** `resource.path` when the resource has it as an own property (any type), else undefined. */
  readonly resourcePath: unknown;
  /** `resource.id` when the resource has it as an own property (any type), else undefined. */
  readonly resourceId: unknown;
  readonly context: Readonly<Record<string, unknown>> | undefined;
  readonly session: string | undefined;
  readonly time: number;
}

/** Longest action, id or session string accepted in a request. */
export const MAX_NAME = 1024;

/**
 * The bounds a request (or signal) must keep, checked once when it is read: over any of them the
 * decision is a deny with R302, before any rule runs, so no later step (evaluation, explanation,
 * logging, state) ever holds an oversized value.
 */
export interface RequestLimits {
  /** Deepest nesting of objects and arrays inside `principal`, `resource` and `context` (they are level 1). */
  readonly maxDepth: number;
  /** Most properties and array elements in `principal`, `resource` and `context` together. */
  readonly maxProperties: number;
  /** Most UTF-16 code units in all their strings (property names included) together. */
  readonly maxStringLength: number;
  /** Longest key value (session, principal id, a `by` attribute value) that names a partition. */
  readonly maxKeyLength: number;
}

export const DEFAULT_LIMITS: RequestLimits = Object.freeze({ maxDepth: 16, maxProperties: 1000, maxStringLength: 65_536, maxKeyLength: MAX_NAME });

/** Why a request is not one: the code (R304 malformed, R302 over a limit) and the message. */
export class Rejection {
  constructor(
    readonly code: "R302" | "R304",
    readonly message: string,
  ) {}
}

/** A valid event, or why the input is not one. */
export type Normalized = Event | Rejection;

const malformed = (message: string) => new Rejection("R304", `malformed request: ${message}`);

/**
 * Validates a request for `decide`; never throws (a caller catches what a Proxy or getter throws).
 * `time` may be left out when `fallbackTime` is given (the Guard fills it from its clock). The
 * action must be a string here; whether it is a well-formed name is checked by the engine only for
 * names the policy does not index (every indexed name came from the policy's own source).
 */
export function normalizeRequest(r: unknown, limits: RequestLimits = DEFAULT_LIMITS, fallbackTime?: number): Normalized {
  if (!isRecord(r)) return malformed(`a request is an object, got ${describe(r)}`);
  // Own properties only. For a plain object while Object.prototype carries none of the field names
  // (nothing polluted it), a named load can only find an own property, so the per-field
  // hasOwnProperty calls are needed only for other objects. Each object's first field is loaded
  // before its prototype is tested (and used only if it is its own): the load tells the optimiser
  // the object's shape, which turns `Object.getPrototypeOf` into a constant instead of a call into
  // the runtime (three of them cost about a tenth of a scope decision).
  const principal = r.principal;
  const fast = plainRequest(r);
  const p = fast || hasOwn.call(r, "principal") ? principal : undefined;
  if (!isRecord(p)) return malformed(p === undefined ? "the request has no principal" : `principal must be an object, got ${describe(p)}`);
  const pKind = p.kind;
  const fastP = plainPrincipal(p);
  const kind = fastP || hasOwn.call(p, "kind") ? pKind : undefined;
  const id = fastP || hasOwn.call(p, "id") ? p.id : undefined;
  if (!isKind(kind)) return malformed(`principal.kind must be a name such as "agent", got ${describe(kind)}`);
  if (!isId(id)) return malformed(`principal.id must be a non-empty string, got ${describe(id)}`);
  const action = fast || hasOwn.call(r, "action") ? r.action : undefined;
  if (typeof action !== "string" || action.length === 0 || action.length > MAX_NAME) {
    return malformed(action === undefined ? "the request has no action" : `action must be a dotted name such as "secret.read", got ${describe(action)}`);
  }
  return finish(r, action, false, p, kind, id, fast, limits, fallbackTime);
}

const OBJECT_PROTO = Object.prototype as unknown as Record<string, unknown>;
/**
 * An empty object that inherits from Object.prototype: `PROBE.x === undefined` says that nothing
 * put an `x` on Object.prototype. V8 answers such a read from its inline cache (a property the
 * receiver's map lacks, guarded by the prototype chain's validity cell, which a write to
 * Object.prototype invalidates), where reading `Object.prototype.x` itself is a dictionary lookup.
 */
const PROBE: Readonly<Record<string, unknown>> = Object.freeze({});

function plainRequest(o: Record<string, unknown>): boolean {
  return (
    Object.getPrototypeOf(o) === OBJECT_PROTO &&
    PROBE.principal === undefined &&
    PROBE.action === undefined &&
    PROBE.resource === undefined &&
    PROBE.context === undefined &&
    PROBE.session === undefined &&
    PROBE.time === undefined
  );
}

function plainPrincipal(o: Record<string, unknown>): boolean {
  return Object.getPrototypeOf(o) === OBJECT_PROTO && PROBE.kind === undefined && PROBE.id === undefined;
}

function plainResource(o: Record<string, unknown>): boolean {
  return Object.getPrototypeOf(o) === OBJECT_PROTO && PROBE.path === undefined && PROBE.id === undefined;
}

/** Validates a signal for `observe`; never throws (see `normalizeRequest`). */
export function normalizeSignal(s: unknown, limits: RequestLimits = DEFAULT_LIMITS, fallbackTime?: number): Normalized {
  if (!isRecord(s)) return new Rejection("R304", `malformed signal: a signal is an object, got ${describe(s)}`);
  const name = own(s, "signal");
  if (typeof name !== "string" || nameError(name) !== null) return new Rejection("R304", name === undefined ? "malformed signal: the signal has no name (field `signal`)" : `malformed signal: signal must be a dotted name such as "login.fail"${typeof name === "string" ? `: ${nameError(name)}` : `, got ${describe(name)}`}`);
  const p = own(s, "principal");
  if (p !== undefined && !isRecord(p)) return new Rejection("R304", `malformed signal: principal must be an object, got ${describe(p)}`);
  const kind = p ? own(p, "kind") : undefined;
  const id = p ? own(p, "id") : undefined;
  if (p && (!isKind(kind) || !isId(id))) return new Rejection("R304", "malformed signal: a signal's principal needs a kind (a name) and an id");
  const ev = finish(s, name, true, p, kind as string | undefined, id as string | undefined, false, limits, fallbackTime);
  return ev instanceof Rejection && ev.code === "R304" ? new Rejection("R304", ev.message.replace(/^malformed request/, "malformed signal")) : ev;
}

function finish(
  r: Record<string, unknown>,
  name: string,
  isSignal: boolean,
  p: Record<string, unknown> | undefined,
  kind: string | undefined,
  id: string | undefined,
  fast: boolean,
  limits: RequestLimits,
  fallbackTime: number | undefined,
): Normalized {
  const resource = fast || hasOwn.call(r, "resource") ? r.resource : undefined;
  let resourcePath: unknown;
  let resourceId: unknown;
  if (resource !== undefined) {
    if (!isRecord(resource)) return malformed(`resource must be an object, got ${describe(resource)}`);
    const path = resource.path;
    const fastR = plainResource(resource);
    resourcePath = fastR || hasOwn.call(resource, "path") ? path : undefined;
    resourceId = fastR || hasOwn.call(resource, "id") ? resource.id : undefined;
  }
  const context = fast || hasOwn.call(r, "context") ? r.context : undefined;
  if (context !== undefined && !isRecord(context)) return malformed(`context must be an object, got ${describe(context)}`);
  const session = fast || hasOwn.call(r, "session") ? r.session : undefined;
  if (session !== undefined && !isId(session)) return malformed(`session must be a non-empty string, got ${describe(session)}`);
  // The session and the principal id name partitions: over the key length is a limit (R302), as for a `by` value.
  if (session !== undefined && session.length > limits.maxKeyLength) return new Rejection("R302", `request over a limit: the session is longer than ${limits.maxKeyLength} characters`);
  if (id !== undefined && id.length > limits.maxKeyLength) return new Rejection("R302", `request over a limit: principal.id is longer than ${limits.maxKeyLength} characters`);
  const t = fast || hasOwn.call(r, "time") ? r.time : undefined;
  const time = t === undefined && fallbackTime !== undefined ? validTime(fallbackTime) : typeof t === "number" && t === t && t <= MAX_TIME && t >= -MAX_TIME ? t : validTime(t);
  if (time === undefined) return malformed(`time must be finite milliseconds since the epoch (at most ${MAX_TIME} in size) or an ISO 8601 string, got ${describe(t)}`);
  const over = overLimits(p, resource as Record<string, unknown> | undefined, context, limits);
  if (over !== null) return new Rejection("R302", `request over a limit: ${over}`);
  return new EventValue(name, isSignal, p, kind, id, resource as Record<string, unknown> | undefined, resourcePath, resourceId, context, session as string | undefined, time);
}

/** An event as `finish` builds it: a constructor, not a literal, for the reason given in values.ts. */
class EventValue implements Event {
  constructor(
    readonly name: string,
    readonly isSignal: boolean,
    readonly principal: Readonly<Record<string, unknown>> | undefined,
    readonly principalKind: string | undefined,
    readonly principalId: string | undefined,
    readonly resource: Readonly<Record<string, unknown>> | undefined,
    readonly resourcePath: unknown,
    readonly resourceId: unknown,
    readonly context: Readonly<Record<string, unknown>> | undefined,
    readonly session: string | undefined,
    readonly time: number,
  ) {}
}

/**
 * Which of `limits` the request's principal, resource and context go over, or null. One walk over
 * own enumerable properties. The roots' own properties are counted in place; nested objects and
 * arrays go on an explicit stack (no recursion to overflow), allocated only when a root holds one,
 * so a flat request (the usual kind) is checked without allocating.
 */
function overLimits(p: Record<string, unknown> | undefined, resource: Record<string, unknown> | undefined, context: Record<string, unknown> | undefined, limits: RequestLimits): string | null {
  if (limits.maxDepth < 1 && (p !== undefined || resource !== undefined || context !== undefined)) return `values nest deeper than ${limits.maxDepth} levels`;
  const tally = TALLY;
  tally.properties = 0;
  tally.strings = 0;
  tally.nested = null;
  if ((p !== undefined && !countRoot(p, tally, limits)) || (resource !== undefined && !countRoot(resource, tally, limits)) || (context !== undefined && !countRoot(context, tally, limits))) {
    return tally.properties > limits.maxProperties ? `more than ${limits.maxProperties} properties and elements` : `more than ${limits.maxStringLength} characters of strings`;
  }
  const nested = tally.nested;
  if (nested === null) return null;
  tally.nested = null;
  return overLimitsNested(nested, tally.properties, tally.strings, limits);
}

/** What `countRoot` has counted so far; one per module (the walk is synchronous and never re-entered). */
interface Tally {
  properties: number;
  strings: number;
  /** The objects and arrays found in the roots, each with its depth (2), or null while there are none. */
  nested: unknown[] | null;
}

const TALLY: Tally = { properties: 0, strings: 0, nested: null };

/** Counts a root's own properties and strings into `t`; false as soon as a count is over its limit. */
function countRoot(o: Record<string, unknown>, t: Tally, limits: RequestLimits): boolean {
  if (Array.isArray(o)) {
    // A root is a record (isRecord), never an array; counted as one all the same should that change.
    (t.nested ??= []).push(o, 1);
    return true;
  }
  let properties = t.properties;
  let strings = t.strings;
  for (const k in o) {
    if (!hasOwn.call(o, k)) continue;
    if (++properties > limits.maxProperties) {
      t.properties = properties;
      return false;
    }
    strings += k.length;
    const x = o[k];
    if (typeof x === "string") strings += x.length;
    else if (typeof x === "object" && x !== null) (t.nested ??= []).push(x, 2);
  }
  t.properties = properties;
  t.strings = strings;
  return strings <= limits.maxStringLength;
}

/** The rest of the walk (see `overLimits`): `work` holds value, depth pairs. */
function overLimitsNested(work: unknown[], properties: number, strings: number, limits: RequestLimits): string | null {
  while (work.length > 0) {
    const depth = work.pop() as number;
    const v = work.pop();
    if (depth > limits.maxDepth) return `values nest deeper than ${limits.maxDepth} levels`;
    if (Array.isArray(v)) {
      properties += v.length;
      if (properties > limits.maxProperties) return `more than ${limits.maxProperties} properties and elements`;
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === "string") strings += x.length;
        else if (typeof x === "object" && x !== null) work.push(x, depth + 1);
      }
    } else {
      const o = v as Record<string, unknown>;
      for (const k in o) {
        if (!hasOwn.call(o, k)) continue;
        if (++properties > limits.maxProperties) return `more than ${limits.maxProperties} properties and elements`;
        strings += k.length;
        const x = o[k];
        if (typeof x === "string") strings += x.length;
        else if (typeof x === "object" && x !== null) work.push(x, depth + 1);
      }
    }
    if (strings > limits.maxStringLength) return `more than ${limits.maxStringLength} characters of strings`;
  }
  return null;
}

export { MAX_TIME, toMillis, validTime };

const hasOwn = Object.prototype.hasOwnProperty;
function own(o: Record<string, unknown>, k: string): unknown {
  return hasOwn.call(o, k) ? o[k] : undefined;
}

/** A session or principal id: a non-empty string (its length is a limit, `maxKeyLength`). */
function isId(v: unknown): v is string {
  return typeof v === "string" && v.length > 0;
}

/** A name as `.rules` writes one: a letter, then letters, digits, `_` and `-` (grammar/rules.ebnf). */
const SEGMENT = /^\p{L}[\p{L}\d_-]*$/u;

/** Kinds seen valid (a policy meets few kinds; the set is cleared when it fills). */
const KINDS = new Set<string>();

/** A principal kind is a name (`agent`, `service`): it never holds `/`, so `principal:kind/id` keys are unambiguous. */
function isKind(v: unknown): v is string {
  if (typeof v !== "string") return false;
  if (KINDS.has(v)) return true;
  if (v.length === 0 || v.length > 256 || !SEGMENT.test(v) || findMixedScript(v) !== null) return false;
  if (KINDS.size >= 1024) KINDS.clear();
  KINDS.add(v);
  return true;
}

/**
 * Why `name` is not an action or signal name as a `.rules` file writes one, or null: dotted
 * segments that each start with a letter and hold only letters, digits, `_` and `-`, no segment
 * mixing scripts (the lexer's L006). Control, invisible, formatting and BIDI characters (NUL,
 * U+200B, U+202E, U+00AD, U+0085, ...) are none of these, so no such name reaches a rule.
 */
export function nameError(name: string): string | null {
  if (name.length === 0) return "the name is empty";
  if (name.length > MAX_NAME) return `the name is longer than ${MAX_NAME} characters`;
  let start = 0;
  for (;;) {
    const dot = name.indexOf(".", start);
    const seg = name.slice(start, dot < 0 ? name.length : dot);
    if (!SEGMENT.test(seg)) return seg.length === 0 ? "a segment is empty" : `segment ${quote(seg)} is not a name (a letter, then letters, digits, _ or -)`;
    const mixed = findMixedScript(seg);
    if (mixed !== null) return `segment ${quote(seg)} mixes ${mixed.scripts.join(" and ")} letters`;
    if (dot < 0) return null;
    start = dot + 1;
  }
}

/** A dotted action or signal name as a `.rules` file writes one (see `nameError`). */
export function isActionName(v: unknown): v is string {
  return typeof v === "string" && nameError(v) === null;
}

/**
 * A string as a message quotes it: at most 40 characters, with control, format (BIDI, zero-width),
 * separator and lone surrogate characters written as `\uXXXX`, so a message never carries them raw.
 */
export function quote(s: string): string {
  const cut = s.length > 40 ? s.slice(0, 40) + "..." : s;
  return JSON.stringify(cut).replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return v.length > 40 ? `a string of ${v.length} characters` : quote(v);
  if (typeof v === "number") return String(v);
  return typeof v === "object" ? "an object" : typeof v;
}

export { MAX_STRING };

/** The message of an error a request's getter or proxy threw, never throwing itself. */
export function describeError(e: unknown): string {
  try {
    return e instanceof Error ? String(e.message) : String(e);
  } catch {
    return "an unreadable error";
  }
}

/** `describe` of a value that may be anything (a proxy, a throwing getter), never throwing. */
export function safeDescribe(v: unknown): string {
  try {
    return describe(v);
  } catch {
    return "an unreadable value";
  }
}
