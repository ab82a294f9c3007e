import { decideNow } from "../../guard/guard.js";
import { idMaker } from "../../guard/ids.js";
import type { GuardRequest } from "../../guard/types.js";
import type { Decision, Principal, Resource } from "../../runtime/types.js";
import { clearCookie } from "./cookies.js";
import { errorRefusal, outcomeOf, refusalOf, type Outcome, type RefusalStyle } from "./responses.js";
import { deriveAction, RouteTable, type RouteMatch } from "./routes.js";
import type { HttpDecision, HttpGuardOptions, HttpRefusal, HttpRequestView } from "./types.js";
import { NO_PARAMS, RequestView } from "./view.js";

/** What the gate made of one HTTP request. */
export type GateResult =
  /** Not guarded (`skip`). */
  | { readonly kind: "skip" }
  /** Allowed: call the handler with this attached. */
  | { readonly kind: "allow"; readonly leash: HttpDecision }
  /** Refused: send `refusal` instead of calling the handler. */
  | { readonly kind: "refuse"; readonly refusal: HttpRefusal; readonly leash: HttpDecision | null };

/** The view an adapter builds, before the gate adds the matched route. */
export type RawView = Omit<HttpRequestView, "route" | "params"> & {
  readonly route?: string;
  readonly params?: Readonly<Record<string, string>>;
  /** The action the framework's route configuration names (fastify `config.leash.action`); it wins over every other. */
  readonly routeAction?: string;
};

const ANONYMOUS: Principal = Object.freeze({ kind: "anonymous", id: "anonymous" });
const SKIP: GateResult = Object.freeze({ kind: "skip" });

/**
 * The part of every HTTP adapter that does not depend on the framework: map the request, decide
 * it through the Guard, turn a refusal into a response, revoke the session on a revoke. Built once
 * per middleware; `check` never throws.
 */
export class HttpGate {
  private readonly routes: RouteTable;
  private readonly style: RefusalStyle;
  private readonly sessionCookie: string | undefined;
  private readonly sessionHeader: string | undefined;
  /** Decision ids, made here so that the response can name the decision the log and the span name. */
  private readonly nextId = idMaker();

  constructor(private readonly options: HttpGuardOptions) {
    if (options === null || typeof options !== "object" || options.guard === undefined) throw new TypeError("leash/http: options.guard is required (createGuard({ policy }))");
    this.routes = new RouteTable(options.routes);
    this.style = { realm: options.realm ?? "leash", explain: options.explain ?? true, acrValues: options.acrValues ?? {} };
    const s = options.session;
    if (typeof s === "function") {
      this.sessionCookie = undefined;
      this.sessionHeader = undefined;
    } else {
      this.sessionCookie = s === undefined ? "sid" : s.cookie;
      this.sessionHeader = s?.header?.toLowerCase();
    }
  }

  /**
   * The gate's answer: the result itself when nothing had to be waited for (a synchronous mapping,
   * a Guard over the memory store, an allow), else its promise. Never throws, never rejects.
   */
  check(raw: RawView): GateResult | Promise<GateResult> {
    let view: HttpRequestView = raw as HttpRequestView;
    let request: GuardRequest;
    let fromCookie = false;
    try {
      const matched = this.routes.match(raw.method, raw.path);
      view = viewOf(raw, matched);
      if (this.options.skip?.(view) === true) return SKIP;
      const session = this.sessionOf(view);
      fromCookie = session !== undefined && this.sessionCookie !== undefined && view.cookie(this.sessionCookie) === session;
      const made = this.requestOf(view, raw.routeAction, matched?.action, session);
      if (made instanceof Promise) {
        const v = view;
        const c = fromCookie;
        return made.then(
          (r) => this.decideFor(r, v, c),
          (e: unknown) => this.mappingFailed(e, v),
        );
      }
      request = made;
    } catch (e) {
      return this.mappingFailed(e, view);
    }
    return this.decideFor(request, view, fromCookie);
  }

  private decideFor(request: GuardRequest, view: HttpRequestView, fromCookie: boolean): GateResult | Promise<GateResult> {
    const id = this.nextId();
    const decision = decideNow(this.options.guard, request, { id });
    return decision instanceof Promise ? decision.then((d) => this.resultOf(d, id, request, view, fromCookie)) : this.resultOf(decision, id, request, view, fromCookie);
  }

  private resultOf(decision: Decision, id: string, request: GuardRequest, view: HttpRequestView, fromCookie: boolean): GateResult | Promise<GateResult> {
    const leash: HttpDecision = { id, decision, request };
    const outcome = outcomeOf(decision, this.options.guard.policy);
    if (outcome === "allow") return { kind: "allow", leash };
    return this.refuse(leash, outcome, view, fromCookie);
  }

  private async refuse(leash: HttpDecision, outcome: Exclude<Outcome, "allow">, view: HttpRequestView, fromCookie: boolean): Promise<GateResult> {
    const { id, decision, request } = leash;
    let refusal = refusalOf(decision, outcome, id, this.style);
    if (outcome === "revoke") {
      await this.revokeSession(request, leash);
      if (fromCookie) refusal = { ...refusal, headers: { ...refusal.headers, "set-cookie": clearCookie(this.sessionCookie!) } };
      await this.hook(() => this.options.onRevoke?.({ ...leash, http: view, refusal }), view);
    }
    if (outcome === "challenge" && this.options.onChallenge) {
      const chosen = await this.hook(() => this.options.onChallenge!({ ...leash, http: view, refusal }), view);
      if (chosen !== undefined && chosen !== null) refusal = chosen;
    }
    return { kind: "refuse", refusal, leash };
  }

  private sessionOf(view: HttpRequestView): string | undefined {
    const s = this.options.session;
    if (typeof s === "function") return nonEmpty(s(view));
    return nonEmpty(this.sessionCookie !== undefined ? view.cookie(this.sessionCookie) : undefined) ?? nonEmpty(this.sessionHeader !== undefined ? view.header(this.sessionHeader) : undefined);
  }

  /** The leash request; a promise only when the principal or context mapping returned one. */
  private requestOf(view: HttpRequestView, configured: string | undefined, routed: string | undefined, session: string | undefined): GuardRequest | Promise<GuardRequest> {
    const o = this.options;
    const action = configured ?? (typeof o.action === "string" ? o.action : o.action?.(view)) ?? routed ?? deriveAction(view.method, view.path);
    const principal = o.principal ? o.principal(view) : ANONYMOUS;
    const extra = o.context ? o.context(view) : undefined;
    if (principal instanceof Promise || extra instanceof Promise) return Promise.all([principal, extra]).then(([p, x]) => this.requestWith(view, action, p, x, session));
    return this.requestWith(view, action, principal, extra, session);
  }

  private requestWith(view: HttpRequestView, action: string, principal: Principal, extra: Record<string, unknown> | undefined, session: string | undefined): GuardRequest {
    const o = this.options;
    const ip = o.ip ? o.ip(view) : view.ip;
    const context: Record<string, unknown> = { method: view.method, path: view.path };
    if (ip !== undefined) context.ip = ip;
    if (view.route !== undefined) context.route = view.route;
    const agent = view.header("user-agent");
    if (agent !== undefined) context["user-agent"] = agent;
    if (extra !== undefined) for (const k of Object.keys(extra)) if (extra[k] !== undefined) context[k] = extra[k];
    const resource = o.resource?.(view) ?? defaultResource(view);
    return session !== undefined ? { principal, action, resource, context, session } : { principal, action, resource, context };
  }

  /** A revoke decision ends the request's session, whichever key the rule targeted. */
  private async revokeSession(request: GuardRequest, leash: HttpDecision): Promise<void> {
    if (request.session === undefined) return;
    const key = `session:${request.session}`;
    if (leash.decision.obligations.some((o) => o.kind === "revoke" && o.key === key)) return;
    const reason = leash.decision.reasons.find((r) => r.effect === "revoke")?.message ?? "revoked";
    await this.options.guard.revoke({ session: request.session }, reason);
  }

  private async hook<T>(run: () => T | Promise<T>, view: HttpRequestView): Promise<T | undefined> {
    try {
      return await run();
    } catch (e) {
      this.report("R337", `a hook threw: ${errorText(e)}`, view);
      return undefined;
    }
  }

  private mappingFailed(e: unknown, view: HttpRequestView): GateResult {
    const message = `the request could not be mapped to a leash request: ${errorText(e)}`;
    this.report("R337", message, view);
    return { kind: "refuse", refusal: errorRefusal("R337", message, this.style), leash: null };
  }

  private report(code: string, message: string, view: HttpRequestView): void {
    try {
      this.options.onError?.({ code, message }, view);
    } catch {
      // The report is best effort; the request is refused either way.
    }
  }
}

/** The view with the matched route: an adapter's own view is filled in, another is copied. */
function viewOf(raw: RawView, matched: RouteMatch | null): HttpRequestView {
  if (raw instanceof RequestView) {
    if (raw.route === undefined && matched !== null) {
      raw.route = matched.pattern;
      raw.params = matched.params;
    }
    return raw;
  }
  return { ...raw, route: raw.route ?? matched?.pattern, params: raw.params ?? matched?.params ?? NO_PARAMS } as HttpRequestView;
}

/** `{ type: "http", path, id: route, params }`, the last two when the request has them. */
function defaultResource(view: HttpRequestView): Resource {
  const resource: { type: string; path: string; id?: string; params?: Readonly<Record<string, string>> } = { type: "http", path: view.path };
  if (view.route !== undefined) resource.id = view.route;
  if (view.params !== NO_PARAMS && hasKeys(view.params)) resource.params = view.params;
  return resource as Resource;
}

function hasKeys(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return true;
  return false;
}

function nonEmpty(s: string | undefined): string | undefined {
  return typeof s === "string" && s !== "" ? s : undefined;
}

function errorText(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return "an exception without a message";
  }
}
