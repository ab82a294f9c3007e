import { cookieValue } from "./cookies.js";
import type { HttpRequestView } from "./types.js";

export const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The request view the adapters build: one object per request with its methods on the
 * prototype (no closures per request), the last cookie read kept (the session and the principal
 * usually read the same one), and the matched route filled in by the gate.
 */
export abstract class RequestView implements HttpRequestView {
  route: string | undefined;
  params: Readonly<Record<string, string>>;
  /** The action the framework's route configuration names (fastify `config.leash.action`). */
  routeAction: string | undefined = undefined;
  private cookieName: string | undefined = undefined;
  private cookieFound: string | undefined = undefined;

  constructor(
    readonly method: string,
    readonly path: string,
    readonly url: string,
    readonly ip: string | undefined,
    readonly body: unknown,
    readonly raw: unknown,
    route?: string,
    params?: Readonly<Record<string, string>>,
  ) {
    this.route = route;
    this.params = params ?? NO_PARAMS;
  }

  abstract header(name: string): string | undefined;

  cookie(name: string): string | undefined {
    if (name === this.cookieName) return this.cookieFound;
    const value = cookieValue(this.header("cookie"), name);
    this.cookieName = name;
    this.cookieFound = value;
    return value;
  }
}

/** A Node request's headers (express, fastify): lower-case names, several values joined with `, `. */
export class NodeRequestView extends RequestView {
  constructor(
    private readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>,
    method: string,
    path: string,
    url: string,
    ip: string | undefined,
    body: unknown,
    raw: unknown,
    route?: string,
    params?: Readonly<Record<string, string>>,
  ) {
    super(method, path, url, ip, body, raw, route, params);
  }

  header(name: string): string | undefined {
    return headerText(this.headers[name.toLowerCase()]);
  }
}

/** A Fetch `Request`'s headers. */
export class FetchRequestView extends RequestView {
  constructor(
    private readonly headers: Headers,
    method: string,
    path: string,
    url: string,
    ip: string | undefined,
    raw: unknown,
  ) {
    super(method, path, url, ip, undefined, raw);
  }

  header(name: string): string | undefined {
    return this.headers.get(name) ?? undefined;
  }
}

export function headerText(v: string | readonly string[] | undefined): string | undefined {
  return v === undefined ? undefined : typeof v === "string" ? v : v.join(", ");
}
