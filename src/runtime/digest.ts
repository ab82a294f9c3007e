/**
 * SHA-256 and canonical JSON, for the digest of a compiled policy. Plain code over numbers: the
 * runtime entry has no Node built-in and no async Web Crypto call, so a policy loads synchronously
 * in any JavaScript runtime.
 */

/**
 * The round constants and initial hash: the first 32 bits of the fractional parts of the cube roots
 * of the first 64 primes and of the square roots of the first 8 (computed: exact in doubles, and
 * checked against node:crypto by the tests).
 */
const PRIMES = primes(64);
const K = Uint32Array.from(PRIMES, (p) => fraction32(Math.cbrt(p)));
const H0 = Uint32Array.from(PRIMES.slice(0, 8), (p) => fraction32(Math.sqrt(p)));

function primes(n: number): number[] {
  const out: number[] = [];
  for (let c = 2; out.length < n; c++) if (out.every((p) => c % p !== 0)) out.push(c);
  return out;
}

function fraction32(x: number): number {
  return ((x - Math.floor(x)) * 0x100000000) >>> 0;
}

/** The SHA-256 of a string's UTF-8 bytes, as 64 lowercase hex digits (FIPS 180-4). */
export function sha256Hex(text: string): string {
  const bytes = new TextEncoder().encode(text);
  // Padding: a 1 bit, zeros, and the length in bits as a 64-bit big-endian number.
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bytes.length / 0x20000000));
  view.setUint32(padded.length - 4, (bytes.length * 8) >>> 0);

  const h = H0.slice();
  const w = new Uint32Array(64);
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(block + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
      const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h as unknown as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0]! += a;
    h[1]! += b;
    h[2]! += c;
    h[3]! += d;
    h[4]! += e;
    h[5]! += f;
    h[6]! += g;
    h[7]! += hh;
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, "0")).join("");
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/**
 * JSON with object keys in code-unit order at every level and no whitespace, so that a value has one
 * text whatever order its keys were written in or however the file was indented. Follows
 * `JSON.stringify` for everything else (undefined object members are left out). Iterative, so any
 * nesting depth that `JSON.parse` accepted is fine.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // A work list of values to write and literal text (commas, brackets) between them.
  const work: ({ readonly text: string } | { readonly value: unknown })[] = [{ value }];
  while (work.length > 0) {
    const item = work.pop()!;
    if ("text" in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== "object") {
      out.push(JSON.stringify(v) ?? "null");
      continue;
    }
    const parts: ({ readonly text: string } | { readonly value: unknown })[] = [];
    if (Array.isArray(v)) {
      parts.push({ text: "[" });
      v.forEach((x, i) => parts.push(...(i > 0 ? [{ text: "," }] : []), { value: x === undefined ? null : x }));
      parts.push({ text: "]" });
    } else {
      const keys = Object.keys(v)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort();
      parts.push({ text: "{" });
      keys.forEach((k, i) => parts.push({ text: `${i > 0 ? "," : ""}${JSON.stringify(k)}:` }, { value: (v as Record<string, unknown>)[k] }));
      parts.push({ text: "}" });
    }
    for (let i = parts.length - 1; i >= 0; i--) work.push(parts[i]!);
  }
  return out.join("");
}
