/**
 * Glob matching where `*` matches any run of characters (including `/`) and every other character
 * matches itself. Compiled once into literal parts; matching is linear in the subject length (greedy
 * leftmost scan, no backtracking), so no user pattern can cause catastrophic matching time.
 */
export interface Glob {
  readonly source: string;
  /** Literal pieces between stars. */
  readonly parts: readonly string[];
  readonly anchoredStart: boolean;
  readonly anchoredEnd: boolean;
  /** `true` when the glob has no star: plain equality. */
  readonly exact: boolean;
}

export const MAX_GLOB_STARS = 16;

/*
 * `startsWith` / `endsWith` with a non-constant argument take a slow builtin path in Node 20's V8
 * (about 2x the cost of the whole rest of a simple-rule match, measured with `npm run bench`); a
 * length check and a comparison of a slice is the fast form. These run on every decision.
 */

/** `s.startsWith(p)`. */
export function hasPrefix(s: string, p: string): boolean {
  return s.length >= p.length && s.slice(0, p.length) === p;
}

/** `s.endsWith(p)`. */
export function hasSuffix(s: string, p: string): boolean {
  return s.length >= p.length && s.slice(s.length - p.length) === p;
}

export function compileGlob(source: string): Glob {
  const parts = source.split("*");
  return {
    source,
    parts,
    anchoredStart: !source.startsWith("*"),
    anchoredEnd: !source.endsWith("*"),
    exact: parts.length === 1,
  };
}

export function globMatch(g: Glob, s: string): boolean {
  const parts = g.parts;
  if (g.exact) return s === g.source;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (s.length < first.length + last.length) return false;
  if (!hasPrefix(s, first) || !hasSuffix(s, last)) return false;
  // Middle parts: leftmost occurrence, each after the previous; greedy-leftmost is optimal for `*`.
  let pos = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const p = parts[i]!;
    if (p.length === 0) continue;
    const at = s.indexOf(p, pos);
    if (at < 0 || at + p.length > end) return false;
    pos = at + p.length;
  }
  return true;
}

/** Dotted action pattern (`ticket.*`, `*`, `a.*.c`): `*` matches exactly one segment, except that a
 * trailing `*` matches one or more segments, and a lone `*` matches every action. Allocates nothing:
 * it runs on every decision. */
export function actionPatternMatches(segments: readonly string[], action: string): boolean {
  const n = segments.length;
  if (n === 1 && segments[0] === "*") return true;
  const len = action.length;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (pos > len) return false; // the action has fewer segments than the pattern
    const seg = segments[i]!;
    if (seg === "*" && i === n - 1) return true;
    let end = action.indexOf(".", pos);
    if (end < 0) end = len;
    if (seg !== "*" && (end - pos !== seg.length || action.slice(pos, end) !== seg)) return false;
    pos = end + 1;
  }
  return pos === len + 1;
}
