import { attach } from "./attached.js";
import { HttpGate, type GateResult } from "./gate.js";
import { StreamHolds } from "./streams.js";
import type { HttpGuardOptions, HttpRefusal } from "./types.js";
import { FetchRequestView } from "./view.js";

/**
 * Wraps a Fetch-API handler, `(request, ...rest) => Response` — `app.fetch` of hono, a Next.js
 * route handler, any web-standard server — so that every request is decided before it runs.
 * Allowed: the handler runs and `decisionOf(request)` gives `{ id, decision, request }`. Refused:
 * the wrapper answers (403, 429, 401) and the handler does not run. The client address
 * (`view.ip`) is the socket's under `@hono/node-server` (its `env.incoming`), else unknown: behind
 * a proxy you trust, give `ip` reading its header.
 *
 * ```ts
 * serve({ fetch: guardFetch(app.fetch, { guard, routes: { "POST /checkout": "payment.submit" } }) });
 * export const POST = guardFetch(checkout, { guard, action: "payment.submit" });   // Next.js
 * ```
 */
export function guardFetch<A extends unknown[]>(handler: (request: Request, ...rest: A) => Response | Promise<Response>, options: HttpGuardOptions): (request: Request, ...rest: A) => Promise<Response> {
  const gate = new HttpGate(options);
  const holds = new StreamHolds(options);
  const after = (request: Request, args: A, path: string, result: GateResult): Response | Promise<Response> => {
    if (result.kind === "refuse") return responseOf(result.refusal);
    if (result.kind !== "allow") return handler(request, ...args);
    attach(request, result.leash);
    if (!holds.wanted || !holds.wants(request.method.toUpperCase(), path, result.leash)) return handler(request, ...args);
    return held(holds, result, handler(request, ...args));
  };
  return (request, ...args) => {
    try {
      const { path, url } = pathOf(request.url);
      const result = gate.check(new FetchRequestView(request.headers, request.method.toUpperCase(), path, url, nodeServerAddress(args[0]), request));
      // Decided at once (the memory store): the handler is called in this turn; its answer is the only promise.
      const out = result instanceof Promise ? result.then((r) => after(request, args, path, r)) : after(request, args, path, result);
      return out instanceof Promise ? out : Promise.resolve(out);
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

async function held(holds: StreamHolds, result: Extract<GateResult, { kind: "allow" }>, response: Response | Promise<Response>): Promise<Response> {
  return holds.holdFetch(result.leash, await response);
}

/**
 * The path and the path with the query of an absolute URL (`http://host/a/b?q` gives `/a/b` and
 * `/a/b?q`), as `new URL` would give them for the URLs a server hands its handler; anything
 * unusual (dot segments, percent-encoding to normalise, no authority) goes through `new URL`.
 */
export function pathOf(href: string): { path: string; url: string } {
  const scheme = href.indexOf("://");
  const slash = scheme < 0 ? -1 : href.indexOf("/", scheme + 3);
  if (slash >= 0) {
    let end = href.length;
    const hash = href.indexOf("#", slash);
    if (hash >= 0) end = hash;
    const q = href.indexOf("?", slash);
    const pathEnd = q >= 0 && q < end ? q : end;
    const path = href.slice(slash, pathEnd);
    if (plainPath(path)) return { path, url: pathEnd + 1 >= end ? path : href.slice(slash, end) };
  }
  const u = new URL(href);
  return { path: u.pathname, url: u.pathname + u.search };
}

/** A path `new URL` leaves as it is: printable ASCII other than `\\`, `%` or a space, no `.` or `..` segment. */
function plainPath(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x25 || c === 0x5c || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60 || c === 0x7b || c === 0x7d || c === 0x5e || c === 0x7c) return false;
    if (c === 0x2e && path.charCodeAt(i - 1) === 0x2f) {
      const n = path.charCodeAt(i + 1);
      if (Number.isNaN(n) || n === 0x2f || (n === 0x2e && (i + 2 === path.length || path.charCodeAt(i + 2) === 0x2f))) return false;
    }
  }
  return true;
}

/** A refusal as a Fetch `Response`. */
export function responseOf(refusal: HttpRefusal): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(refusal.headers)) {
    if (typeof v === "string") headers.set(k, v);
    else for (const one of v) headers.append(k, one);
  }
  return new Response(refusal.body, { status: refusal.status, headers });
}

/** `env.incoming.socket.remoteAddress` of `@hono/node-server`, if that is what `env` is. */
function nodeServerAddress(env: unknown): string | undefined {
  try {
    const a = (env as { incoming?: { socket?: { remoteAddress?: unknown } } } | undefined)?.incoming?.socket?.remoteAddress;
    return typeof a === "string" ? a : undefined;
  } catch {
    return undefined;
  }
}
