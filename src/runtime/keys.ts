import type { KeyIR, SimpleKeyIR } from "../compile/ir.js";

/**
 * Key texts and compound partition keys.
 *
 * A key group's text names its key: `session`, `principal`, `context.ip`, or for a compound key
 * (`by (session, resource.path)`) its parts' texts sorted and in parentheses,
 * `(resource.path,session)`. A partition key is the group's text, a colon and the key's value.
 * A compound key's value is its parts' values in the order of the text, each as its length in
 * decimal, a colon and the value itself:
 *
 * ```text
 * (resource.path,session):11:orders/1234,2:s1
 * ```
 *
 * Each part says how long it is, so no value can end a part early or start the next one: two
 * different tuples never share a key, whatever characters their values hold (`a,b` and `a` then
 * `b` are `3:a,b` and `1:a,1:b`).
 */

/** Most parts a compound key may have. */
export const MAX_KEY_PARTS = 4;

/** The text of a key of one part: `session`, `principal`, `context.ip`. */
export function partText(k: SimpleKeyIR): string {
  return k.kind === "path" ? k.text : k.kind;
}

/** The text of a key: a part's own, or `(a,b)` for a compound key (parts as they are ordered). */
export function keyText(k: KeyIR): string {
  return k.kind === "compound" ? `(${k.parts.map(partText).join(",")})` : partText(k);
}

/**
 * A compound key's value from its parts' values, in the order of the key's parts; null when a part
 * is missing (the event then has no key for the group, R305).
 */
export function compoundValue(parts: readonly (string | null)[]): string | null {
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const v = parts[i];
    if (v === null || v === undefined) return null;
    out += `${i === 0 ? "" : ","}${v.length}:${v}`;
  }
  return out;
}

/**
 * Whether partition key `key` of a group with key `k` and text `text` has a value (for a compound
 * key: a part's value) longer than `maxPart` characters.
 */
export function keyValueTooLong(k: KeyIR, text: string, key: string, maxPart: number): boolean {
  if (k.kind !== "compound") return key.length > text.length + 1 + maxPart;
  // `LEN:VALUE` parts joined by commas, as compoundValue writes them.
  let i = text.length + 1;
  while (i < key.length) {
    const colon = key.indexOf(":", i);
    const n = Number(key.slice(i, colon));
    if (n > maxPart) return true;
    i = colon + 1 + n + 1;
  }
  return false;
}
