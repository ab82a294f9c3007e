/**
 * The `routes` table: `"METHOD /path"` patterns compiled once into segment matchers. Matching is
 * linear in the number of segments; no regular expressions are built from the patterns.
 */

interface Route {
  /** Upper-case method, or null for `*`. */
  readonly method: string | null;
  /** Literal segments, `:name` parameters, and a final `*` for the rest. */
  readonly segments: readonly ({ readonly literal: string } | { readonly param: string } | { readonly rest: true })[];
  readonly pattern: string;
  readonly action: string;
}

export interface RouteMatch {
  readonly action: string;
  readonly pattern: string;
  readonly params: Record<string, string>;
}

export class RouteTable {
  private readonly routes: readonly Route[];
  /**
   * The scan's answer for each path a literal route spells (`/catalog`), computed once: by each
   * method some route names, and for every other method. A request for exactly that path is
   * answered without splitting it.
   */
  private readonly exact = new Map<string, { readonly byMethod: ReadonlyMap<string, RouteMatch | null>; readonly other: RouteMatch | null }>();

  constructor(table: Readonly<Record<string, string>> | undefined) {
    this.routes = Object.entries(table ?? {}).map(([key, action]) => compileRoute(key, action));
    const methods = new Set(this.routes.flatMap((r) => (r.method === null ? [] : [r.method])));
    for (const r of this.routes) {
      if (!r.segments.every((s) => "literal" in s)) continue;
      const path = `/${r.segments.map((s) => (s as { literal: string }).literal).join("/")}`;
      if (this.exact.has(path)) continue;
      const byMethod = new Map<string, RouteMatch | null>();
      for (const m of methods) byMethod.set(m, frozen(this.scan(m, path)));
      // No route names this method (a method name has no spaces): only `*` routes and patterns answer.
      this.exact.set(path, { byMethod, other: frozen(this.scan(" ", path)) });
    }
  }

  /** The first route that matches, with its parameters, or null. */
  match(method: string, path: string): RouteMatch | null {
    if (this.routes.length === 0) return null;
    const known = this.exact.get(path);
    if (known !== undefined) {
      const m = known.byMethod.get(method);
      return m !== undefined ? m : known.other;
    }
    return this.scan(method, path);
  }

  /** Every route in order. */
  private scan(method: string, path: string): RouteMatch | null {
    const parts = splitPath(path);
    for (const r of this.routes) {
      if (r.method !== null && r.method !== method) continue;
      const params = matchSegments(r, parts);
      if (params !== null) return { action: r.action, pattern: r.pattern, params };
    }
    return null;
  }
}

function frozen(m: RouteMatch | null): RouteMatch | null {
  return m === null ? null : Object.freeze({ ...m, params: Object.freeze(m.params) });
}

function compileRoute(key: string, action: string): Route {
  const space = key.indexOf(" ");
  if (space < 0) throw new TypeError(`leash/http: route ${JSON.stringify(key)} is "METHOD /path", e.g. "POST /login"`);
  const method = key.slice(0, space).trim().toUpperCase();
  const pattern = key.slice(space + 1).trim();
  if (!pattern.startsWith("/")) throw new TypeError(`leash/http: route ${JSON.stringify(key)}: the path starts with /`);
  const raw = splitPath(pattern);
  const segments = raw.map((s, i) => {
    if (s === "*") {
      if (i !== raw.length - 1) throw new TypeError(`leash/http: route ${JSON.stringify(key)}: * stands only at the end`);
      return { rest: true as const };
    }
    return s.startsWith(":") && s.length > 1 ? { param: s.slice(1) } : { literal: s };
  });
  return { method: method === "*" ? null : method, segments, pattern, action };
}

function matchSegments(r: Route, parts: readonly string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < r.segments.length; i++) {
    const s = r.segments[i]!;
    if ("rest" in s) return params;
    const part = parts[i];
    if (part === undefined) return null;
    if ("literal" in s) {
      if (s.literal !== part) return null;
    } else params[s.param] = decodeSegment(part);
  }
  return parts.length === r.segments.length ? params : null;
}

/** `/a/b/` as `["a", "b"]`. */
export function splitPath(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const VERBS: Readonly<Record<string, string>> = { GET: "read", HEAD: "read", POST: "create", PUT: "update", PATCH: "update", DELETE: "delete" };

/**
 * The action of a request no route names: the path's name-like segments, then a verb for the
 * method. `GET /orders/42/items` is `orders.items.read`, `POST /login` is `login.create`, `GET /`
 * is `root.read`. Segments that look like ids (digits, UUIDs, long hex) are skipped; other
 * characters become `-`.
 */
export function deriveAction(method: string, path: string): string {
  const names: string[] = [];
  for (const s of splitPath(path)) {
    if (names.length >= 8) break;
    if (looksLikeId(s)) continue;
    const name = nameOf(s);
    if (name !== "") names.push(name);
  }
  if (names.length === 0) names.push("root");
  const verb = VERBS[method] ?? (method.toLowerCase().replace(/[^a-z]/g, "") || "request");
  return `${names.join(".")}.${verb}`;
}

/** A path segment as an action name segment: lower case, letters, digits, `_` and `-`, at most 64 characters. */
function nameOf(segment: string): string {
  let out = "";
  for (const ch of segment.slice(0, 64).toLowerCase()) {
    const ok = (ch >= "a" && ch <= "z") || (ch >= "0" && ch <= "9") || ch === "_" || ch === "-";
    if (ok) out += ch;
    else if (out !== "" && !out.endsWith("-")) out += "-";
  }
  while (out.endsWith("-")) out = out.slice(0, -1);
  if (out === "") return out;
  return (out[0]! >= "a" && out[0]! <= "z") || out[0] === "_" ? out : `_${out}`;
}

function looksLikeId(s: string): boolean {
  if (s.length > 256) return false;
  if (/^\d+$/.test(s)) return true;
  if (s.length === 36 && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) return true;
  return s.length >= 16 && /^[0-9a-f]+$/i.test(s);
}
