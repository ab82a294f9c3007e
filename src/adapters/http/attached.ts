import type { HttpDecision } from "./types.js";

const decisions = new WeakMap<object, HttpDecision>();

/** Remembers the decision of a request an adapter let through. */
export function attach(request: object, leash: HttpDecision): void {
  decisions.set(request, leash);
}

/**
 * The decision an adapter made for a request it let through: the express `req`, the fastify
 * `request`, or the Fetch `Request` (`c.req.raw` in hono). Undefined for a request it did not decide.
 */
export function decisionOf(request: object): HttpDecision | undefined {
  return decisions.get(request);
}
