import type { Guard, GuardRequest } from "../../guard/types.js";
import type { Decision, Principal, Resource } from "../../runtime/types.js";
import type { HoldSelector, StreamEnd } from "./streams.js";

/**
 * An HTTP request as every adapter presents it to the mapping: the same fields whether it came
 * through express, fastify or a Fetch-API handler.
 */
export interface HttpRequestView {
  /** Upper case: `GET`, `POST`. */
  readonly method: string;
  /** The URL's path, without the query: `/orders/42`. */
  readonly path: string;
  /** Path and query as received. */
  readonly url: string;
  /** The framework's route pattern when it knows it (`/orders/:id`), else the matched `routes` pattern. */
  readonly route: string | undefined;
  /** Parameters of the matched `routes` pattern (`{ id: "42" }`), or the framework's. */
  readonly params: Readonly<Record<string, string>>;
  /** A header's value (names are case-insensitive); several values joined with `, `. */
  header(name: string): string | undefined;
  /** A cookie's value from the `Cookie` header. */
  cookie(name: string): string | undefined;
  /** The client's address as the framework reports it (express `req.ip`, fastify `request.ip`). */
  readonly ip: string | undefined;
  /** The parsed body when the framework parsed one (express with `express.json()`, fastify); else undefined. */
  readonly body: unknown;
  /** The framework's own request object (express `Request`, fastify `FastifyRequest`, Fetch `Request`). */
  readonly raw: unknown;
}

/** What an adapter attaches to an allowed request: `res.locals.leash`, `request.leash`, `decisionOf(request)`. */
export interface HttpDecision {
  /** The decision id: in the decision log, the span and the problem body of a refusal. */
  readonly id: string;
  readonly decision: Decision;
  /** The leash request the HTTP request was mapped to (what a recheck of this decision needs). */
  readonly request: GuardRequest;
}

/** A response the adapter sends instead of calling the handler. */
export interface HttpRefusal {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The response body (a problem details document, RFC 9457, unless a hook chose otherwise). */
  readonly body: string;
}

/** What a hook that shapes a refusal (`onChallenge`, `onRevoke`) is given. */
export interface RefusalContext extends HttpDecision {
  readonly http: HttpRequestView;
  /** The response the adapter would send. */
  readonly refusal: HttpRefusal;
}

/**
 * How an HTTP request becomes a leash request, and how the outcome becomes a response. Every
 * field has a default; see docs/guides/http.md.
 */
export interface HttpGuardOptions {
  readonly guard: Guard;
  /**
   * The action of a request. A string (one action for everything this middleware guards, e.g. on
   * one route), or a function; absent or undefined from the function: the `routes` table, then an
   * action derived from the method and path (`GET /orders/42/items` is `orders.items.read`).
   */
  readonly action?: string | ((req: HttpRequestView) => string | undefined);
  /**
   * `"METHOD /path"` patterns to actions, tried in order: `"POST /login": "login.attempt"`,
   * `"GET /orders/:id": "order.read"` (`:name` is one segment, a final `*` the rest), `"* /admin/*"`
   * (any method).
   */
  readonly routes?: Readonly<Record<string, string>>;
  /** Who acts; default `{ kind: "anonymous", id: "anonymous" }`. Map your authenticated user here. */
  readonly principal?: (req: HttpRequestView) => Principal | Promise<Principal>;
  /**
   * The session: a cookie or a header holding its id (default `{ cookie: "sid" }`), or a function.
   * Histories `by session` and revocations of a session use it.
   */
  readonly session?: { readonly cookie?: string; readonly header?: string } | ((req: HttpRequestView) => string | undefined);
  /**
   * Context attributes added to the defaults (`ip`, `method`, `path`, `route`, `user-agent`);
   * undefined values are left out.
   */
  readonly context?: (req: HttpRequestView) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** The resource; default `{ type: "http", path, id: route, params }`. */
  readonly resource?: (req: HttpRequestView) => Resource | undefined;
  /** The client address when the framework's is not the one to trust (behind a proxy it does not know). */
  readonly ip?: (req: HttpRequestView) => string | undefined;
  /** Requests the guard lets through without a decision (health checks, static files). */
  readonly skip?: (req: HttpRequestView) => boolean;
  /** Challenge names (`mfa`, `captcha`) to the `acr_values` of the WWW-Authenticate header; default the name itself. */
  readonly acrValues?: Readonly<Record<string, string>>;
  /** `realm` of the WWW-Authenticate header (default `leash`). */
  readonly realm?: string;
  /** Put the deciding rules and their reasons in refusal bodies (default true). */
  readonly explain?: boolean;
  /** Replaces the 401 of a challenge (a redirect to step-up, a captcha page): return the response to send, or undefined for the default. */
  readonly onChallenge?: (ctx: RefusalContext) => HttpRefusal | undefined | Promise<HttpRefusal | undefined>;
  /** Called after a revoke, once the session is revoked: end server-side sessions, open streams. */
  readonly onRevoke?: (ctx: RefusalContext) => void | Promise<void>;
  /**
   * Requests whose response is held while it is open (`guard.hold`): an event stream, a chunked
   * download, a long poll. `true` holds every allowed request, a list of `"METHOD /path"`
   * patterns (as `routes` writes them) the ones it matches, a function the decisions it returns
   * true for. When the decision turns to deny or revoke — a revocation on this instance or
   * another, a grant that ran out, a risk signal — the response is ended and the client told why:
   * an SSE event `leash-end`, trailers of a chunked body, else a cut connection (see
   * docs/guides/http.md, "Streams and WebSockets"). Default: nothing is held.
   */
  readonly hold?: HoldSelector;
  /** Told each time a held response or WebSocket is ended, with why and how: the log of it. */
  readonly onStreamEnd?: (end: StreamEnd) => void;
  /** Told when a request could not be mapped (R337) or a hook threw; the request is refused either way. */
  readonly onError?: (error: { readonly code: string; readonly message: string }, req: HttpRequestView) => void;
}
