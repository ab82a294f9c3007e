import { randomBytes } from "node:crypto";
import type { PartitionData } from "../store.js";

/**
 * How a partition is stored: `<version>:<json>`. A version is a token no other write anywhere
 * produces (`<writer id><counter>`): a key deleted or expired and written again never returns to
 * a version a cached copy holds, so "same version" means "same value" for the version check.
 *
 * The version of a stored value is what the Lua scripts compute with the same rule as
 * `versionOf`: absent is `""`, a value with a version prefix has that version, any other value
 * (written by something else, corrupted) is versioned by its whole text (`=` + the value).
 */

const VERSION = /^([A-Za-z0-9_-]+):/;

/** A source of fresh versions and transaction ids for one store instance. */
export function versionSource(): () => string {
  // 72 random bits name the writer; the counter orders its writes.
  const writer = randomBytes(9).toString("base64url");
  let n = 0;
  return () => writer + (n++).toString(36);
}

/** What a partition read from Redis decodes to. */
export interface Held {
  /** The version the scripts compare (see above). */
  readonly version: string;
  /** The partition as the step sees it: `null` absent, the decoded JSON, or the raw text. */
  readonly value: PartitionData | null;
}

export const ABSENT: Held = Object.freeze({ version: "", value: null });

/** Decodes a stored value; a value that is not `<version>:<json>` reaches the step as its raw text. */
export function decode(stored: string | null, maxValueBytes: number): Held {
  if (stored === null) return ABSENT;
  const m = VERSION.exec(stored);
  if (m === null) return { version: `=${stored}`, value: stored };
  if (stored.length > maxValueBytes) return { version: m[1]!, value: stored };
  try {
    return { version: m[1]!, value: JSON.parse(stored.slice(m[0].length)) as PartitionData };
  } catch {
    return { version: m[1]!, value: stored };
  }
}

/** The stored form of a partition written at `version`. */
export function encode(version: string, value: PartitionData): string {
  const json = toJson(value, 0);
  if (json === undefined) throw new TypeError("a partition must be a JSON value");
  return `${version}:${json}`;
}

/** Below this depth `toJson` walks the value itself; deeper (and for cycles) JSON.stringify answers. */
const WALK_DEPTH = 32;

/**
 * `JSON.stringify(value)`, character for character, faster on the partitions the core writes:
 * their registers are epoch milliseconds, numbers beyond the small-integer range that V8 prints
 * with its general double-to-text algorithm (three quarters of the encoding's time). A safe
 * integer is printed here as two small integers' digits instead. Anything that is not plain data
 * (a `toJSON` method, a class instance, a BigInt) goes to JSON.stringify itself.
 */
export function toJson(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case "number":
      return numberJson(value);
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object":
      break;
    default:
      return JSON.stringify(value);
  }
  if (value === null) return "null";
  if (depth >= WALK_DEPTH) return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return JSON.stringify(value);
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += toJson(value[i], depth + 1) ?? "null";
    }
    return `${out}]`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === "function") return JSON.stringify(value);
  let out = "{";
  let first = true;
  for (const key of Object.keys(value)) {
    const v = toJson((value as Record<string, unknown>)[key], depth + 1);
    if (v === undefined) continue;
    out += first ? `${JSON.stringify(key)}:${v}` : `,${JSON.stringify(key)}:${v}`;
    first = false;
  }
  return `${out}}`;
}

let lastLarge = NaN;
let lastLargeJson = "null";

/** A number as JSON.stringify prints it; safe integers through the digits of two small integers. */
function numberJson(n: number): string {
  if (n === (n | 0)) return String(n);
  if (!Number.isSafeInteger(n)) {
    // The core's empty register, -1e21, mostly: its text is kept.
    if (n !== lastLarge) lastLargeJson = String(JSON.stringify((lastLarge = n)));
    return lastLargeJson;
  }
  const a = n < 0 ? -n : n;
  const high = Math.floor(a / 1e8);
  const low = String(a - high * 1e8);
  const digits = high === 0 ? low : `${high}${"00000000".slice(low.length)}${low}`;
  return n < 0 ? `-${digits}` : digits;
}
