/**
 * Decision ids: a random prefix per Guard and a counter, `3f9c0a7be21d-1a`. Unique within a Guard,
 * and across processes as far as 48 random bits go; cheaper than a UUID per decision.
 */
export function idMaker(): () => string {
  const prefix = randomHex(12);
  let n = 0;
  return () => `${prefix}-${(++n).toString(36)}`;
}

function randomHex(digits: number): string {
  const bytes = new Uint8Array(Math.ceil(digits / 2));
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto;
  if (typeof crypto?.getRandomValues === "function") crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out.slice(0, digits);
}

/** A caller's id for a decision when it is a string of 1 to 128 characters, else null. */
export function callerId(options: unknown): string | null {
  try {
    const id = (options as { id?: unknown } | undefined)?.id;
    return typeof id === "string" && id.length > 0 && id.length <= 128 ? id : null;
  } catch {
    return null;
  }
}
