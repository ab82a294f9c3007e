/** A 64-bit content hash (two FNV-1a lanes) as 16 hex digits. Not cryptographic: it names versions. */
export function contentHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a = Math.imul(a ^ ch, 0x01000193);
    b = Math.imul(b ^ ch, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** 32-bit FNV-1a of `text`, continuing from `h` (for digests built field by field). */
export function hash32(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Mixes a number into a 32-bit hash: its low and high 32 bits as an integer, and its fraction in 1/2^16ths. */
export function mix32(h: number, n: number): number {
  h = Math.imul(h ^ (n | 0), 0x01000193);
  h = Math.imul(h ^ ((n / 4294967296) | 0), 0x01000193);
  // `n - Math.trunc(n)` is `n % 1` for every finite n, without the library call `%` of a double costs.
  return Math.imul(h ^ (((n - Math.trunc(n)) * 65536) | 0), 0x01000193);
}
