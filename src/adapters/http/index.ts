/**
 * `leash/http`: a Guard in front of HTTP handlers. `expressGuard` (express 5 middleware),
 * `fastifyGuard` (a fastify 5 plugin) and `guardFetch` (Fetch-API handlers: hono, Next.js route
 * handlers) map each request to a leash request — route and method to an action, a principal, the
 * session from a cookie or header, context such as ip and user agent — and answer what the policy
 * refuses: a deny is 403 `application/problem+json` with the reason and rule ids, a limit or rate
 * deny 429 with `Retry-After`, a challenge 401 with `WWW-Authenticate` (`insufficient_user_authentication`,
 * `acr_values`), a revoke 401 with the session revoked. See docs/guides/http.md.
 *
 * ```ts
 * import express from "express";
 * import { createGuard } from "leash";
 * import { expressGuard } from "leash/http";
 *
 * const app = express();
 * app.use(express.json(), expressGuard({ guard: createGuard({ policy }), routes: { "POST /login": "login.attempt" } }));
 * ```
 * @packageDocumentation
 */
export { expressGuard } from "./express.js";
export type { ExpressRequestLike, ExpressResponseLike, NodeResponseLike } from "./express.js";
export { fastifyGuard } from "./fastify.js";
export type { FastifyGuardPlugin, FastifyInstanceLike, FastifyReplyLike, FastifyRequestLike } from "./fastify.js";
export { decisionOf } from "./attached.js";
export { guardFetch, responseOf } from "./fetch.js";
export { HttpGate } from "./gate.js";
export type { GateResult, RawView } from "./gate.js";
export { deriveAction } from "./routes.js";
export { END_TRAILERS, holdWebSocket, SSE_END_EVENT, WS_POLICY_VIOLATION } from "./streams.js";
export type { HoldSelector, NodeStreamResponse, StreamEnd, StreamTransport, WebSocketLike } from "./streams.js";
export { guardUpgrade } from "./upgrade.js";
export { CAEP_EVENTS, caepReceiver, MAX_SET_BYTES } from "./caep.js";
export type { CaepOutcome, CaepReceiver, CaepReceiverOptions, CaepResponse, SecurityEventToken, SubjectKeys } from "./caep.js";
export type { UpgradeGuard, UpgradeSocketLike } from "./upgrade.js";
export { PROBLEM_JSON } from "./responses.js";
export type { HttpDecision, HttpGuardOptions, HttpRefusal, HttpRequestView, RefusalContext } from "./types.js";
