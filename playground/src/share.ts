/**
 * A policy and a trace in the URL's fragment (`#s=...`), so a link carries them and no server sees
 * them: the JSON of both, compressed with the browser's CompressionStream (deflate-raw) and
 * written in base64url. `z` marks compressed data; `j` plain JSON, for browsers without it.
 */
export interface Shared {
  readonly policy: string;
  readonly trace: string;
}

const KEY = "s=";

export async function encodeShare(shared: Shared): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify({ p: shared.policy, t: shared.trace }));
  if (typeof CompressionStream === "undefined") return `#${KEY}j${base64url(json)}`;
  return `#${KEY}z${base64url(await transform(json, new CompressionStream("deflate-raw")))}`;
}

/** The policy and trace of a fragment made by `encodeShare`, or null (no share, or not readable). */
export async function decodeShare(hash: string): Promise<Shared | null> {
  const at = hash.indexOf(KEY);
  if (at < 0) return null;
  const data = hash.slice(at + KEY.length).split("&")[0]!;
  try {
    const bytes = unbase64url(data.slice(1));
    const json = data[0] === "z" ? await transform(bytes, new DecompressionStream("deflate-raw")) : bytes;
    const v = JSON.parse(new TextDecoder().decode(json)) as { p?: unknown; t?: unknown };
    return typeof v.p === "string" && typeof v.t === "string" ? { policy: v.p, trace: v.t } : null;
  } catch {
    return null;
  }
}

async function transform(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unbase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
