import type { IncomingHttpHeaders } from "node:http";
import { attach } from "./attached.js";
import { HttpGate, type GateResult } from "./gate.js";
import { StreamHolds, type NodeStreamResponse } from "./streams.js";
import type { HttpGuardOptions } from "./types.js";
import { NO_PARAMS, NodeRequestView } from "./view.js";

/** The parts of a fastify 5 request the hook reads. */
export interface FastifyRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly ip: string;
  readonly body?: unknown;
  readonly params?: unknown;
  readonly routeOptions?: { readonly url?: string | undefined; readonly config?: unknown };
  leash?: unknown;
}

/** The parts of a fastify 5 reply the hook uses. */
export interface FastifyReplyLike {
  /** The Node response (held when `hold` selects the request). */
  readonly raw?: unknown;
  code(status: number): FastifyReplyLike;
  header(name: string, value: unknown): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

/** The parts of a fastify instance the plugin uses. */
export interface FastifyInstanceLike {
  decorateRequest(name: string, value: unknown): unknown;
  addHook(name: "preHandler", hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: (err?: Error) => void) => void): unknown;
}

/** A fastify plugin without encapsulation (what `fastify-plugin` makes): its hook guards the routes of the instance it is registered on. */
export type FastifyGuardPlugin = ((instance: FastifyInstanceLike, opts: unknown, done: (err?: Error) => void) => void) & { readonly [key: symbol]: unknown };

/**
 * A fastify 5 plugin: a `preHandler` hook (the body is parsed by then) decides every request of
 * the instance's routes. Allowed: `request.leash` holds `{ id, decision, request }`. Refused: the
 * hook replies (403, 429, 401) and the handler does not run. A route's `config: { leash: { action } }`
 * names its action; `config: { leash: false }` leaves it unguarded.
 *
 * ```ts
 * await app.register(fastifyGuard({ guard, routes: { "POST /login": "login.attempt" } }));
 * ```
 */
export function fastifyGuard(options: HttpGuardOptions): FastifyGuardPlugin {
  const gate = new HttpGate(options);
  const holds = new StreamHolds(options);
  const finish = (request: FastifyRequestLike, reply: FastifyReplyLike, next: (err?: Error) => void, result: GateResult, path: string): void => {
    if (result.kind === "allow") {
      request.leash = result.leash;
      attach(request, result.leash);
      if (holds.wanted && reply.raw !== undefined && holds.wants(request.method.toUpperCase(), path, result.leash)) holds.holdNode(result.leash, reply.raw as NodeStreamResponse);
      return next();
    }
    if (result.kind === "skip") return next();
    // Refused: the reply is sent here and the handler does not run (a callback hook that replies does not call next).
    reply.code(result.refusal.status);
    for (const [k, v] of Object.entries(result.refusal.headers)) reply.header(k, v);
    reply.send(result.refusal.body);
  };
  const plugin = (instance: FastifyInstanceLike, _opts: unknown, done: (err?: Error) => void) => {
    instance.decorateRequest("leash", null);
    // A callback hook: a request decided at once (the memory store) goes on without a promise.
    instance.addHook("preHandler", (request, reply, next) => {
      // fastify builds routeOptions anew at each read: read it once.
      const options = request.routeOptions;
      const config = routeConfig(options?.config);
      if (config === false) return next();
      const url = request.url;
      const q = url.indexOf("?");
      const path = q < 0 ? url : url.slice(0, q);
      const view = new NodeRequestView(request.headers, request.method.toUpperCase(), path, url, request.ip, request.body, request);
      const route = options?.url;
      if (route !== undefined) {
        view.route = route;
        view.params = stringParams(request.params);
      }
      if (config?.action !== undefined) view.routeAction = config.action;
      const result = gate.check(view);
      if (!(result instanceof Promise)) return finish(request, reply, next, result, path);
      result.then(
        (r) => finish(request, reply, next, r, path),
        (e: unknown) => next(e instanceof Error ? e : new Error(String(e))),
      );
    });
    done();
  };
  return Object.assign(plugin, { [Symbol.for("skip-override")]: true, [Symbol.for("fastify.display-name")]: "leash", [Symbol.for("plugin-meta")]: { name: "leash", fastify: "5.x" } });
}

function routeConfig(config: unknown): { action?: string } | false | undefined {
  if (config === null || typeof config !== "object") return undefined;
  const leash = (config as { leash?: unknown }).leash;
  if (leash === false) return false;
  if (leash !== null && typeof leash === "object" && typeof (leash as { action?: unknown }).action === "string") return { action: (leash as { action: string }).action };
  return undefined;
}

function stringParams(p: unknown): Readonly<Record<string, string>> {
  if (p === null || typeof p !== "object") return NO_PARAMS;
  let out: Record<string, string> | null = null;
  for (const k of Object.keys(p)) {
    const v = (p as Record<string, unknown>)[k];
    if (typeof v === "string") (out ??= {})[k] = v;
  }
  return out ?? NO_PARAMS;
}
