import { actionPatternMatches } from "../runtime/glob.js";

/** Every action `r` matches, `s` matches too (conservative: false when unsure). */
export function patternCovers(s: readonly string[], r: readonly string[]): boolean {
  if (s.length === 1 && s[0] === "*") return true;
  if (!r.includes("*")) return actionPatternMatches(s, r.join("."));
  if (s.join(".") === r.join(".")) return true;
  // `a.b.*` covers `a.b.c.*` and `a.b.*`: a trailing star in s absorbs whatever r has from there on.
  const n = s.length;
  if (s[n - 1] !== "*" || s.slice(0, -1).includes("*") || r.length < n) return false;
  return r.slice(0, n - 1).every((seg, i) => seg !== "*" && seg === s[i]);
}
