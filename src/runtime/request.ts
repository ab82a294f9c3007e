import { isRecord, MAX_STRING } from "./attributes.js";

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

/** A valid event, or the message saying why the input is not one. */
export type Normalized = Event | string;

/**
 * Validates a request for `decide`; never throws. The action must be a string here; whether it is
 * a well-formed dotted name is checked by the engine only for names the policy does not index.
 */
export function normalizeRequest(r: unknown): Normalized {
  if (!isRecord(r)) return `a request is an object, got ${describe(r)}`;
  // Own properties only. For a plain object while Object.prototype carries none of the field names
  // (nothing polluted it), a named load can only find an own property, so the per-field
  // hasOwnProperty calls are needed only for other objects. Each object's first field is loaded
  // before its prototype is tested (and used only if it is its own): the load tells the optimiser
  // the object's shape, which turns `Object.getPrototypeOf` into a constant instead of a call into
  // the runtime (three of them cost about a tenth of a scope decision).
  const principal = r.principal;
  const fast = plainRequest(r);
  const p = fast || hasOwn.call(r, "principal") ? principal : undefined;
  if (!isRecord(p)) return p === undefined ? "the request has no principal" : `principal must be an object, got ${describe(p)}`;
  const pKind = p.kind;
  const fastP = plainPrincipal(p);
  const kind = fastP || hasOwn.call(p, "kind") ? pKind : undefined;
  const id = fastP || hasOwn.call(p, "id") ? p.id : undefined;
  if (!isName(kind)) return `principal.kind must be a non-empty string, got ${describe(kind)}`;
  if (!isName(id)) return `principal.id must be a non-empty string, got ${describe(id)}`;
  const action = fast || hasOwn.call(r, "action") ? r.action : undefined;
  if (typeof action !== "string" || action.length === 0 || action.length > MAX_NAME) {
    return action === undefined ? "the request has no action" : `action must be a dotted name such as "secret.read", got ${describe(action)}`;
  }
  return finish(r, action, false, p, kind, id, fast);
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

/** Validates a signal for `observe`; never throws. */
export function normalizeSignal(s: unknown): Normalized {
  if (!isRecord(s)) return `a signal is an object, got ${describe(s)}`;
  const name = own(s, "signal");
  if (!isActionName(name)) return name === undefined ? "the signal has no name (field `signal`)" : `signal must be a dotted name such as "login.fail", got ${describe(name)}`;
  const p = own(s, "principal");
  if (p !== undefined && !isRecord(p)) return `principal must be an object, got ${describe(p)}`;
  const kind = p ? own(p, "kind") : undefined;
  const id = p ? own(p, "id") : undefined;
  if (p && (!isName(kind) || !isName(id))) return "a signal's principal needs a kind and an id";
  return finish(s, name, true, p, kind as string | undefined, id as string | undefined, false);
}

function finish(r: Record<string, unknown>, name: string, isSignal: boolean, p: Record<string, unknown> | undefined, kind: string | undefined, id: string | undefined, fast: boolean): Normalized {
  const resource = fast || hasOwn.call(r, "resource") ? r.resource : undefined;
  let resourcePath: unknown;
  let resourceId: unknown;
  if (resource !== undefined) {
    if (!isRecord(resource)) return `resource must be an object, got ${describe(resource)}`;
    const path = resource.path;
    const fastR = plainResource(resource);
    resourcePath = fastR || hasOwn.call(resource, "path") ? path : undefined;
    resourceId = fastR || hasOwn.call(resource, "id") ? resource.id : undefined;
  }
  const context = fast || hasOwn.call(r, "context") ? r.context : undefined;
  if (context !== undefined && !isRecord(context)) return `context must be an object, got ${describe(context)}`;
  const session = fast || hasOwn.call(r, "session") ? r.session : undefined;
  if (session !== undefined && !isName(session)) return `session must be a non-empty string, got ${describe(session)}`;
  const t = fast || hasOwn.call(r, "time") ? r.time : undefined;
  const time = typeof t === "number" && t === t && Math.abs(t) <= 8.64e15 ? t : toMillis(t);
  if (time === undefined) return `time must be finite milliseconds since the epoch or an ISO 8601 string, got ${describe(t)}`;
  return new EventValue(name, isSignal, p, kind, id, resource, resourcePath, resourceId, context, session as string | undefined, time);
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

const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function toMillis(t: unknown): number | undefined {
  if (typeof t === "number") return Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? t : undefined;
  if (typeof t === "string" && t.length <= 40 && ISO.test(t)) {
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

const hasOwn = Object.prototype.hasOwnProperty;
function own(o: Record<string, unknown>, k: string): unknown {
  return hasOwn.call(o, k) ? o[k] : undefined;
}

function isName(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= MAX_NAME;
}

const ACTION = /^[^\s.*][^\s*]*$/;
/** A dotted action or signal name: no spaces, no `*`, no empty segment. */
export function isActionName(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= MAX_NAME && ACTION.test(v) && !v.endsWith(".") && !v.includes("..");
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === "number") return String(v);
  return typeof v === "object" ? "an object" : typeof v;
}

export { MAX_STRING };
