import type { GuardEvent } from "../guard/types.js";
import type { DecisionError, Reason } from "../runtime/types.js";
import type { LogContext } from "./event.js";
import type { Redactor } from "./redact.js";

type DecisionEvent = Extract<GuardEvent, { kind: "decision" }>;

/**
 * The decision line of `e` written straight from the event, in the schema's fixed field order:
 * the text `JSON.stringify(logEventOf(e, ctx))` makes, without building the event's object, its
 * input copy, or the reason and error objects. Null when the generic path must make the line:
 * the input holds a `[secret]` attribute, is not a plain object, does not serialise, or the line
 * is longer than `maxLine`.
 */
export function decisionLine(e: DecisionEvent, ctx: LogContext, redactor: Redactor, maxLine: number): string | null {
  const request = e.request as unknown as Record<string, unknown>;
  const d = e.decision;
  if (!plain(request) || redactor.touches(request)) return null;
  let input: string;
  try {
    input = inputJson(request, d.time);
  } catch {
    return null;
  }
  if (input === "") return null;
  const line =
    `{"kind":"decision","id":${JSON.stringify(e.id)},"time":"${isoTime(d.time)}","policyHash":${JSON.stringify(d.policyHash)},"store":${JSON.stringify(e.store)}${ctx.labelsJson}` +
    `,"input":${input},"effect":${JSON.stringify(d.effect)},"rules":${once(d.rules, json)},"reasons":${once(d.reasons, reasonsJson)}` +
    `,"obligations":${once(d.obligations, json)},"flags":${once(d.flags, json)},"errors":${once(d.errors, errorsJson)},"warnings":${once(d.warnings, errorsJson)}` +
    `,"validUntil":${numberJson(d.validUntil)},"nextDeadline":${numberJson(d.nextDeadline)},"watch":${JSON.stringify(d.watch)},"latencyMs":${numberJson(micros(e.latencyMs))}}`;
  return line.length <= maxLine ? line : null;
}

/**
 * JSON texts of frozen lists: the runtime hands the same frozen rules, reasons and flags to the
 * decisions it makes alike. A list is kept when it and its items are frozen (a reason's span is
 * the compiled policy's and does not change).
 */
const texts = new WeakMap<readonly unknown[], string>();

function once<T extends readonly unknown[]>(list: T, make: (list: T) => string): string {
  if (list.length === 0) return "[]";
  let text = texts.get(list);
  if (text !== undefined) return text;
  text = make(list);
  if (Object.isFrozen(list) && list.every((x) => x === null || typeof x !== "object" || Object.isFrozen(x))) texts.set(list, text);
  return text;
}

const json = (v: unknown): string => JSON.stringify(v);

/** `{...request, time}` as JSON: the request's own `time` must be the decision's (where the Guard put it), or absent. */
function inputJson(request: Record<string, unknown>, time: number): string {
  const own = Object.prototype.hasOwnProperty.call(request, "time");
  if (own && request.time !== time) return "";
  const text = JSON.stringify(request);
  if (typeof text !== "string" || text[0] !== "{") return "";
  if (own) return text;
  return text === "{}" ? `{"time":${numberJson(time)}}` : `${text.slice(0, -1)},"time":${numberJson(time)}}`;
}

/** A plain object without `toJSON` (which `JSON.stringify` would call and a spread would not). */
function plain(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  return (proto === Object.prototype || proto === null) && !Object.prototype.hasOwnProperty.call(o, "toJSON");
}

function reasonsJson(reasons: readonly Reason[]): string {
  if (reasons.length === 0) return "[]";
  let out = "[";
  for (let i = 0; i < reasons.length; i++) {
    const x = reasons[i]!;
    out += `${i > 0 ? "," : ""}{"rule":${JSON.stringify(x.rule)},"effect":${JSON.stringify(x.effect)},"message":${JSON.stringify(x.message)}`;
    if (x.code) out += `,"code":${JSON.stringify(x.code)}`;
    if (x.span) out += `,"at":${JSON.stringify(`${x.span.file}:${x.span.line}:${x.span.column}`)}`;
    out += "}";
  }
  return `${out}]`;
}

function errorsJson(errors: readonly DecisionError[]): string {
  if (errors.length === 0) return "[]";
  let out = "[";
  for (let i = 0; i < errors.length; i++) {
    const x = errors[i]!;
    out += `${i > 0 ? "," : ""}{"rule":${JSON.stringify(x.rule)},"code":${JSON.stringify(x.code)},"message":${JSON.stringify(x.message)}}`;
  }
  return `${out}]`;
}

function numberJson(n: number | null): string {
  return n !== null && Number.isFinite(n) ? String(n) : "null";
}

let lastMs = NaN;
let lastIso = "";
/** The ISO text of the last second seen, to the dot (`2026-12-02T01:03:55.`), and that second's start in ms. */
let secondMs = NaN;
let secondIso = "";

/** ISO 8601 of a time in ms. Decisions of one millisecond share the text; those of one second share its first 20 characters. */
export function isoTime(ms: number): string {
  if (ms === lastMs) return lastIso;
  let iso: string;
  const inSecond = ms - secondMs;
  if (inSecond >= 0 && inSecond < 1000 && Number.isInteger(ms)) iso = `${secondIso}${inSecond < 10 ? "00" : inSecond < 100 ? "0" : ""}${inSecond}Z`;
  else {
    const d = new Date(ms);
    iso = Number.isFinite(d.getTime()) ? d.toISOString() : new Date(0).toISOString();
    // Years 0 to 9999 only (six-digit years have another length); whole milliseconds only.
    if (iso.length === 24 && Number.isInteger(ms)) {
      secondMs = ms - (ms % 1000 + 1000) % 1000;
      secondIso = iso.slice(0, 20);
    }
  }
  lastMs = ms;
  lastIso = iso;
  return iso;
}

/** A latency in ms, to the µs. */
export function micros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
