import type { IncomingHttpHeaders } from "node:http";
import { attach } from "./attached.js";
import { HttpGate, type GateResult } from "./gate.js";
import { StreamHolds, type NodeStreamResponse } from "./streams.js";
import type { HttpGuardOptions, HttpRefusal } from "./types.js";
import { headerText, NodeRequestView } from "./view.js";

/** The parts of an express 5 request the middleware reads. */
export interface ExpressRequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket?: { readonly remoteAddress?: string | undefined } | undefined;
  readonly path: string;
  readonly originalUrl: string;
  readonly ip?: string | undefined;
  readonly body?: unknown;
  readonly route?: { readonly path?: unknown } | undefined;
  readonly params?: Record<string, string>;
}

/** The parts of a Node response (express 5's, or a plain `http` server's) a refusal is written with. */
export interface NodeResponseLike {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  end(body: string): unknown;
  destroy(): unknown;
}

/** The parts of an express 5 response the middleware uses. */
export interface ExpressResponseLike extends NodeResponseLike {
  locals: Record<string, unknown>;
}

/**
 * Express 5 middleware: decides every request it sees through the Guard before the handlers run.
 * Allowed: `res.locals.leash` holds `{ id, decision, request }` and the next handler runs. Refused:
 * the response is sent here (403, 429, 401; see docs/guides/http.md) and no handler runs.
 *
 * ```ts
 * app.use(express.json(), expressGuard({ guard, routes: { "POST /login": "login.attempt" } }));
 * app.post("/checkout", expressGuard({ guard, action: "payment.submit" }), checkout);
 * ```
 */
export function expressGuard(options: HttpGuardOptions): (req: ExpressRequestLike, res: ExpressResponseLike, next: (err?: unknown) => void) => void {
  const gate = new HttpGate(options);
  const holds = new StreamHolds(options);
  /** What the middleware does with the gate's answer (outside any try: a throw of a later handler is express's). */
  const finish = (req: ExpressRequestLike, res: ExpressResponseLike, next: (err?: unknown) => void, result: GateResult): void => {
    if (result.kind === "refuse") return send(res, result.refusal);
    if (result.kind === "allow") {
      res.locals.leash = result.leash;
      attach(req, result.leash);
      if (holds.wanted && holds.wants((req.method ?? "GET").toUpperCase(), req.path, result.leash)) holds.holdNode(result.leash, res as unknown as NodeStreamResponse);
    }
    next();
  };
  return (req, res, next) => {
    let result: GateResult | Promise<GateResult>;
    try {
      const route = req.route?.path;
      const path = req.path;
      const view = new NodeRequestView(req.headers, (req.method ?? "GET").toUpperCase(), path, req.originalUrl ?? req.url ?? path, req.ip ?? req.socket?.remoteAddress, req.body, req);
      if (typeof route === "string") {
        view.route = route;
        view.params = { ...(req.params ?? {}) };
      }
      result = gate.check(view);
    } catch (e) {
      next(e);
      return;
    }
    // Decided at once (the memory store): the next handler runs in this turn, without a promise.
    if (!(result instanceof Promise)) return finish(req, res, next, result);
    result.then(
      (r) => finish(req, res, next, r),
      (e: unknown) => next(e),
    );
  };
}

/** A Node response written directly (express, or a plain `http` server). */
export function send(res: NodeResponseLike, refusal: HttpRefusal): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = refusal.status;
  for (const [k, v] of Object.entries(refusal.headers)) res.setHeader(k, v);
  res.setHeader("content-length", Buffer.byteLength(refusal.body));
  res.end(refusal.body);
}

/** A header value as one string. */
export const headerOf = headerText;
