import type { Span } from "../ast/span.js";

/** A scalar or a set a condition computes with. `null` is an absent history value (e.g. too few gaps). */
export type Value = string | number | boolean | null | readonly (string | number | boolean)[] | Failure;

/**
 * Why a condition could not be evaluated. Returned, not thrown, so evaluation stays cheap; the rule
 * that meets one is counted as matching (deny, challenge, revoke, flag) or not (allow): fail closed.
 */
export class Failure {
  constructor(
    readonly code: string,
    readonly message: string,
    readonly span: Span | undefined,
  ) {}
}

/** Longest string a condition reads; longer values are R302 (bounded work per decision). */
export const MAX_STRING = 65_536;
/** Largest set attribute a condition reads. */
export const MAX_SET = 10_000;

const hasOwn = Object.prototype.hasOwnProperty;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads `obj.seg1.seg2...` through own properties only (never the prototype chain), and checks the
 * value is one a condition can use. Returns a Failure (R301 missing, R302 wrong type) otherwise.
 */
export function readOwn(obj: unknown, segments: readonly string[], text: string, span: Span | undefined): Value {
  let cur: unknown = obj;
  for (let i = 0; i < segments.length; i++) {
    if (!isRecord(cur)) return new Failure(cur === undefined && i === 0 ? "R301" : "R302", cur === undefined ? `${text} is missing` : `${text}: ${segments.slice(0, i).join(".") || "the root"} is not an object`, span);
    const seg = segments[i]!;
    if (!hasOwn.call(cur, seg)) return new Failure("R301", `${text} is missing`, span);
    cur = cur[seg];
  }
  return checkValue(cur, text, span);
}

export function checkValue(v: unknown, text: string, span: Span | undefined): Value {
  switch (typeof v) {
    case "string":
      return v.length <= MAX_STRING ? v : new Failure("R302", `${text} is longer than ${MAX_STRING} characters`, span);
    case "number":
      return Number.isFinite(v) ? v : new Failure("R302", `${text} is ${v}, not a finite number`, span);
    case "boolean":
      return v;
    default:
      if (Array.isArray(v)) {
        if (v.length > MAX_SET) return new Failure("R302", `${text} has more than ${MAX_SET} elements`, span);
        for (const x of v) {
          if (typeof x === "string" ? x.length > MAX_STRING : typeof x === "number" ? !Number.isFinite(x) : typeof x !== "boolean") {
            return new Failure("R302", `${text} is a set with an element that is not a string, finite number or bool`, span);
          }
        }
        return v as readonly (string | number | boolean)[];
      }
      if (v === null || v === undefined) return new Failure("R301", `${text} is ${v === null ? "null" : "missing"}`, span);
      return new Failure("R302", `${text} is ${typeof v === "object" ? "an object" : typeof v}, not a value a condition can compare`, span);
  }
}

export function typeName(v: Value): string {
  if (v === null) return "absent";
  if (Array.isArray(v)) return "set";
  return typeof v;
}
