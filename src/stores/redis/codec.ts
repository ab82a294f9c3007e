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
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError("a partition must be a JSON value");
  return `${version}:${json}`;
}
