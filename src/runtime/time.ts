/** Largest time in ms a request may carry (±8.64e15, the range of a JavaScript Date). */
export const MAX_TIME = 8.64e15;

const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The one validation of a time that every entry point uses (decide, observe, recheck, revoke,
 * reinstate, traces, the Guard's clock): finite milliseconds within ±8.64e15, or an ISO 8601 string
 * within that range. Anything else — NaN, Infinity, `1e400` from JSON, `1e16`, other strings — is
 * `undefined`, and the caller refuses the input without changing state.
 */
export function validTime(t: unknown): number | undefined {
  if (typeof t === "number") return Number.isFinite(t) && Math.abs(t) <= MAX_TIME ? t : undefined;
  if (typeof t === "string" && t.length <= 40 && ISO.test(t)) {
    const ms = Date.parse(t);
    return Number.isFinite(ms) && Math.abs(ms) <= MAX_TIME ? ms : undefined;
  }
  return undefined;
}

/** The same as `validTime` (its earlier name). */
export const toMillis = validTime;
