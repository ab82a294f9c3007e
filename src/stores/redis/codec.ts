import { randomBytes } from "node:crypto";
import type { PartitionData } from "../store.js";

/**
 * How a partition is stored: `<version>:<body>`. A version is a token no other write anywhere
 * produces (`<writer id><counter>`): a key deleted or expired and written again never returns to
 * a version a cached copy holds, so "same version" means "same value" for the version check.
 *
 * The version of a stored value is what the Lua scripts compute with the same rule as
 * `versionOf`: absent is `""`, a value with a version prefix has that version, any other value
 * (written by something else, corrupted) is versioned by its whole text (`=` + the value).
 *
 * The body is JSON, or JSON with its epoch-sized integers written relative to one base:
 * `~<base>~<json>`, where a number `@<d>` in the JSON stands for `<base> + <d>`. A partition's
 * times (its last-seen time, its expiry, its registers: epoch milliseconds) lie within its
 * windows of one another, so each is a few digits after the base instead of thirteen, and
 * writing small integers costs a fraction of what writing epoch-sized ones does. Both forms
 * decode to what `JSON.parse(JSON.stringify(value))` gives.
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

/** A JSON string, or a number relative to the base (`@-12`, `@305`): the tokens decoding rewrites. */
const BASE = /^-?\d{1,16}$/;
const RELATIVE = /"(?:[^"\\]|\\.)*"|@(-?\d{1,10})(?![\d.eE])/g;

/** Decodes a stored value; a value that is not `<version>:<json>` (or its relative form) reaches the step as its raw text. */
export function decode(stored: string | null, maxValueBytes: number): Held {
  if (stored === null) return ABSENT;
  const m = VERSION.exec(stored);
  if (m === null) return { version: `=${stored}`, value: stored };
  if (stored.length > maxValueBytes) return { version: m[1]!, value: stored };
  try {
    return { version: m[1]!, value: parseBody(stored, m[0].length) as PartitionData };
  } catch {
    return { version: m[1]!, value: stored };
  }
}

function parseBody(stored: string, from: number): unknown {
  if (stored.charCodeAt(from) !== TILDE) return JSON.parse(stored.slice(from));
  const end = stored.indexOf("~", from + 1);
  const head = end < 0 ? "" : stored.slice(from + 1, end);
  const base = BASE.test(head) ? Number(head) : NaN;
  if (!Number.isSafeInteger(base)) throw new SyntaxError("no base");
  const json = stored.slice(end + 1).replace(RELATIVE, (token, d: string | undefined) => {
    if (d === undefined) return token;
    const n = base + Number(d);
    if (!Number.isSafeInteger(n)) throw new SyntaxError("a relative number out of range");
    return String(n);
  });
  return JSON.parse(json);
}

/** The stored form of a partition written at `version`. */
export function encode(version: string, value: PartitionData): string {
  const w = new RelativeWriter();
  let body: string | null;
  try {
    w.value(value, 0);
    body = w.text();
  } catch (e) {
    if (e !== UNUSUAL) throw e;
    body = null;
  }
  if (body === null) {
    // Something JSON treats in its own way (toJSON, a BigInt, a cycle, undefined at the top, text
    // beyond ASCII): JSON decides.
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError("a partition must be a JSON value");
    return `${version}:${json}`;
  }
  return Number.isNaN(w.base) ? `${version}:${body}` : `${version}:~${w.base}~${body}`;
}

const TILDE = 0x7e;
/** Written relative to the base: safe integers this large (smaller ones are short already). */
const LARGE = 2 ** 31;
/** Most distance from the base written relative: the difference is exact and at most ten digits. */
const NEAR = 2 ** 31;
/** Nesting beyond which the value goes to JSON.stringify (which reports a cycle). */
const MAX_DEPTH = 64;
const UNUSUAL = Symbol("unusual");

/**
 * The bytes of an encoding in progress: the writer puts ASCII bytes here and makes one string of
 * them at the end, so a partition's dozens of numbers cost no string each (reused; grows as needed).
 */
let bytes = Buffer.allocUnsafeSlow(16_384);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * JSON.stringify's output for plain data in ASCII, with epoch-sized integers relative to the first
 * one (the base). Anything else throws UNUSUAL, and JSON.stringify writes the whole value.
 */
class RelativeWriter {
  base = NaN;
  private at = 0;

  text(): string {
    return bytes.toString("latin1", 0, this.at);
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case "number":
        return this.number(v);
      case "string":
        return this.string(v);
      case "boolean":
        return this.ascii(v ? "true" : "false");
      case "object":
        if (v === null) return this.ascii("null");
        if (depth >= MAX_DEPTH) throw UNUSUAL;
        return Array.isArray(v) ? this.array(v, depth + 1) : this.object(v as Record<string, unknown>, depth + 1);
      default:
        throw UNUSUAL;
    }
  }

  private number(n: number): void {
    if ((n >= LARGE || n <= -LARGE) && Number.isSafeInteger(n)) {
      if (Number.isNaN(this.base)) this.base = n;
      const d = n - this.base;
      if (d < NEAR && d > -NEAR) {
        this.byte(0x40); // @
        return this.integer(d);
      }
    } else if (n < LARGE && n > -LARGE && Number.isInteger(n)) {
      return this.integer(n);
    }
    this.ascii(Number.isFinite(n) ? "" + n : "null");
  }

  /** An integer below 2^31 in magnitude as decimal digits (-0 as 0, as JSON writes it). */
  private integer(n: number): void {
    this.room(12);
    const b = bytes;
    let u = n < 0 ? -n >>> 0 : n >>> 0;
    if (n < 0) b[this.at++] = 0x2d;
    const digits = u < 10 ? 1 : u < 100 ? 2 : u < 1_000 ? 3 : u < 10_000 ? 4 : u < 100_000 ? 5 : u < 1_000_000 ? 6 : u < 10_000_000 ? 7 : u < 100_000_000 ? 8 : u < 1_000_000_000 ? 9 : 10;
    let i = (this.at += digits);
    do {
      const q = (u / 10) >>> 0;
      b[--i] = 0x30 + u - q * 10;
      u = q;
    } while (u > 0);
  }

  private array(a: readonly unknown[], depth: number): void {
    this.byte(0x5b);
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.byte(0x2c);
      const v = a[i];
      // Registers are numbers: written here without a call per element.
      if (typeof v === "number") this.number(v);
      else if (v === undefined || typeof v === "function" || typeof v === "symbol") this.ascii("null");
      else this.value(v, depth);
    }
    this.byte(0x5d);
  }

  private object(o: Record<string, unknown>, depth: number): void {
    if (typeof o.toJSON === "function" || !plain(o)) throw UNUSUAL;
    this.byte(0x7b);
    let first = true;
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      if (!first) this.byte(0x2c);
      first = false;
      this.string(k);
      this.byte(0x3a);
      this.value(v, depth);
    }
    this.byte(0x7d);
  }

  /** A JSON string: printable ASCII as it is, escapes as JSON writes them; beyond ASCII, JSON writes the value. */
  private string(s: string): void {
    this.room(s.length + 2);
    const start = this.at;
    bytes[this.at++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        this.at = start;
        return this.escaped(s);
      }
      bytes[this.at++] = c;
    }
    bytes[this.at++] = QUOTE;
  }

  private escaped(s: string): void {
    const json = JSON.stringify(s);
    for (let i = 0; i < json.length; i++) if (json.charCodeAt(i) > 0x7e) throw UNUSUAL;
    this.ascii(json);
  }

  /** Text known to be ASCII. */
  private ascii(t: string): void {
    this.room(t.length);
    for (let i = 0; i < t.length; i++) bytes[this.at++] = t.charCodeAt(i);
  }

  private byte(b: number): void {
    this.room(1);
    bytes[this.at++] = b;
  }

  private room(n: number): void {
    if (this.at + n <= bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * bytes.length, this.at + n));
    bytes.copy(grown, 0, 0, this.at);
    bytes = grown;
  }
}

/** Prototypes whose instances JSON writes as their own enumerable fields (learnt as met). */
const PLAIN = new Set<unknown>([Object.prototype, null]);

/** Objects JSON writes as their own enumerable fields: plain objects and instances of plain classes (not Dates, Maps, boxed values, typed arrays). */
function plain(o: object): boolean {
  const p: unknown = Object.getPrototypeOf(o);
  if (PLAIN.has(p)) return true;
  if (o instanceof Date || o instanceof Map || o instanceof Set || o instanceof Number || o instanceof String || o instanceof Boolean || ArrayBuffer.isView(o) || o instanceof ArrayBuffer) return false;
  if (PLAIN.size < 64 && Object.getPrototypeOf(p) === Object.prototype) PLAIN.add(p);
  return true;
}
