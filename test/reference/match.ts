import type { PrincipalSelector, ResourceSelector } from "../../src/ast/nodes.js";
import { isPlainObject, ownProperty, type Subject } from "./subject.js";
import { and, fail, type Truth } from "./truth.js";

/**
 * Action patterns (docs/semantics.md, "Effects and combining" 1): a `*` as the last segment matches
 * one or more segments, a `*` anywhere else exactly one; `*` alone matches every action.
 */
export function actionMatches(pattern: readonly string[], action: string): boolean {
  return segmentsMatch(pattern, action.split("."));
}

function segmentsMatch(pattern: readonly string[], parts: readonly string[]): boolean {
  const [head, ...rest] = pattern;
  if (head === undefined) return parts.length === 0;
  if (parts.length === 0) return false;
  if (head === "*" && rest.length === 0) return true;
  if (head !== "*" && head !== parts[0]) return false;
  return segmentsMatch(rest, parts.slice(1));
}

/** A glob where `*` is any run of characters (possibly empty) and everything else is literal. */
export function globMatches(glob: string, text: string): boolean {
  const pieces = glob.split("*");
  if (pieces.length === 1) return glob === text;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (!text.startsWith(first)) return false;
  if (text.length < first.length + last.length || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (const middle of pieces.slice(1, -1)) {
    const found = text.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/** `for sel, sel`: any selector holds; no selector means any principal. */
export function principalsMatch(selectors: readonly PrincipalSelector[], subject: Subject): Truth {
  if (selectors.length === 0) return true;
  let result: Truth = false;
  for (const sel of selectors) {
    const t = selectorMatches(sel, subject.principal);
    if (t === true) return true;
    if (t !== false) result = t;
  }
  return result;
}

/** `*` is anyone, even a signal that names no principal; any other selector reads the principal. */
function selectorMatches(sel: PrincipalSelector, principal: Readonly<Record<string, unknown>> | undefined): Truth {
  if (sel.principalKind === null) return true;
  if (principal === undefined) return fail("R301", "the signal names no principal");
  if (principal.kind !== sel.principalKind.value) return false;
  if (sel.id !== null && !globMatches(sel.id.value, String(principal.id))) return false;
  let result: Truth = true;
  for (const attr of sel.attributes) {
    const actual = ownProperty(principal, attr.name.value);
    const expected = attr.value.kind === "DurationLit" ? attr.value.ms : attr.value.value;
    const t: Truth =
      actual === undefined || actual === null
        ? fail("R301", `missing attribute principal.${attr.name.value}`)
        : typeof actual !== typeof expected
          ? fail("R302", `principal.${attr.name.value} has the wrong type`)
          : actual === expected;
    result = and(result, t);
  }
  return result;
}

/** `on glob, glob` over `resource.path`, falling back to `resource.id`; no selector means any resource. */
export function resourcesMatch(selectors: readonly ResourceSelector[], subject: Subject): Truth {
  if (selectors.length === 0) return true;
  const resource = subject.resource;
  const path = isPlainObject(resource) ? (ownProperty(resource, "path") ?? ownProperty(resource, "id")) : undefined;
  if (path === undefined || path === null) return fail("R301", "missing attribute resource.path");
  if (typeof path !== "string") return fail("R302", "resource.path is not a string");
  return selectors.some((s) => globMatches(s.glob, path));
}
