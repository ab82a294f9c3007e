import { attach } from "./attached.js";
import { cookieValue } from "./cookies.js";
import { HttpGate } from "./gate.js";
import { StreamHolds } from "./streams.js";
import type { HttpGuardOptions, HttpRefusal } from "./types.js";

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
  return async (request, ...args) => {
    const url = new URL(request.url);
    const result = await gate.check({
      method: request.method.toUpperCase(),
      path: url.pathname,
      url: url.pathname + url.search,
      header: (name) => request.headers.get(name) ?? undefined,
      cookie: (name) => cookieValue(request.headers.get("cookie") ?? undefined, name),
      ip: nodeServerAddress(args[0]),
      body: undefined,
      raw: request,
    });
    if (result.kind === "refuse") return responseOf(result.refusal);
    if (result.kind !== "allow") return handler(request, ...args);
    attach(request, result.leash);
    if (!holds.wants(request.method.toUpperCase(), url.pathname, result.leash)) return handler(request, ...args);
    return holds.holdFetch(result.leash, await handler(request, ...args));
  };
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
