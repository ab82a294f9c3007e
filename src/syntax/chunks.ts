/**
 * Item heads at the text level: a line that starts `rule NAME:`, `workflow NAME by`, `schema {`,
 * `actions {`, `test "` or `property "`. Text between two such lines is a *chunk*; a file that is
 * valid is exactly the concatenation of its chunks' items, because every item ends in a token after
 * which none of those keywords may follow. Only a guess — the parse decides — so whoever parses
 * chunk by chunk parses the whole text again whenever a chunk has a diagnostic (a cut in the middle
 * of an item, an unterminated comment that would swallow the next chunk). The language server's
 * incremental parse and `parsePolicy` on a large file both cut there.
 */
export const ITEM_HEAD = /^[ \t]*(?:rule[ \t]+[\p{L}][\p{L}\d_-]*[ \t]*:|workflow[ \t]+[\p{L}][\p{L}\d_-]*[ \t]+by(?![\p{L}\d_-])|(?:schema|actions)[ \t]*\{|(?:test|property)[ \t]+")/u;

/** Whether the line `[from, to)` of `text` starts an item (cheap first-character test first). */
export function isHead(text: string, from: number, to: number): boolean {
  let i = from;
  while (i < to && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  const c = text.charCodeAt(i);
  // r(ule) w(orkflow) s(chema) a(ctions) t(est) p(roperty)
  if (c !== 0x72 && c !== 0x77 && c !== 0x73 && c !== 0x61 && c !== 0x74 && c !== 0x70) return false;
  return ITEM_HEAD.test(text.slice(from, Math.min(to, from + 256)));
}

/** A run of whole lines starting at an item head (the first chunk starts at offset 0). */
export interface Chunk {
  readonly offset: number;
  readonly end: number;
  /** 1-based line of `offset`. */
  readonly line: number;
}

/**
 * The chunks of `text`, in order, covering all of it: cut at every item head, or, with
 * `minLength`, at the first head at least that many characters after the last cut.
 */
export function splitChunks(text: string, minLength = 0): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 1;
  let line = 1;
  for (let at = 0; at < text.length; ) {
    const nl = text.indexOf("\n", at);
    const next = nl < 0 ? text.length : nl + 1;
    if (at > 0 && at - start >= minLength && isHead(text, at, next)) {
      chunks.push({ offset: start, end: at, line: startLine });
      start = at;
      startLine = line;
    }
    at = next;
    line++;
  }
  chunks.push({ offset: start, end: text.length, line: startLine });
  return chunks;
}
