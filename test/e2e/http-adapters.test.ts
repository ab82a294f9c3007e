import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpRequestView, RefusalContext } from "../../src/adapters/http/index.js";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, type Guard, type GuardEvent } from "../../src/guard/index.js";
import { bodyOf, FRAMEWORKS, startServer, type Framework, type RunningServer } from "./http-servers.js";

const policy = compilePolicyOrThrow(
  `rule open: allow page.read, orders.read, login.attempt, payment.submit, account.delete, session.read, admin.read
rule admin-only: deny admin.read reason "admins only"
rule per-address: deny login.attempt when count(attempted login.attempt by context.ip within 1m) >= 3
  reason "too many login attempts from this address"
rule reports: allow report.create limit 2 per session within 1h
rule step-up: challenge payment.submit when context has amount and context.amount > 100 require mfa
rule close-account: revoke account.delete reason "closing the account ends the session"`,
  { file: "http-test.rules" },
);

const T = Date.UTC(2026, 11, 1, 12);

interface Fixture {
  readonly server: RunningServer;
  readonly guard: Guard;
  readonly events: GuardEvent[];
  readonly revoked: RefusalContext[];
  readonly errors: { code: string; message: string }[];
}

function optionsFor(framework: Framework, f: Omit<Fixture, "server">) {
  return {
    guard: f.guard,
    routes: { "GET /": "page.read", "POST /login": "login.attempt", "POST /checkout": "payment.submit", "DELETE /account": "account.delete", "POST /reports": "report.create", "GET /admin/*": "admin.read", "GET /me": "session.read" },
    principal: (req: HttpRequestView) => {
      if (req.header("x-break") !== undefined) throw new Error("no user store");
      return { kind: "human", id: req.header("x-user") ?? "guest" };
    },
    context: async (req: HttpRequestView) => {
      const body = req.method === "POST" ? await bodyOf(req.raw, req.body) : {};
      return { ip: req.header("x-client"), amount: typeof body.amount === "number" ? body.amount : undefined };
    },
    skip: (req: HttpRequestView) => req.path === "/health",
    acrValues: { mfa: "urn:example:acr:mfa" },
    onChallenge: (ctx: RefusalContext) => (ctx.http.header("x-step-up") === "redirect" ? { status: 303, headers: { location: `/step-up?decision=${ctx.id}` }, body: "" } : undefined),
    onRevoke: (ctx: RefusalContext) => void f.revoked.push(ctx),
    onError: (e: { code: string; message: string }) => void f.errors.push(e),
    framework,
  };
}

const fixtures = new Map<Framework, Fixture>();

beforeAll(async () => {
  for (const framework of FRAMEWORKS) {
    const events: GuardEvent[] = [];
    const guard = createGuard({ policy, now: () => T, onDecision: (e) => events.push(e) });
    const partial = { guard, events, revoked: [], errors: [] };
    const server = await startServer(framework, optionsFor(framework, partial));
    fixtures.set(framework, { ...partial, server });
  }
});

afterAll(async () => {
  for (const f of fixtures.values()) {
    await f.server.close();
    await f.guard.close();
  }
});

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

async function call(framework: Framework, method: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  const f = fixtures.get(framework)!;
  const res = await fetch(f.server.url + path, {
    method,
    redirect: "manual",
    headers: { ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (a redirect's empty body)
  }
  return { status: res.status, headers: res.headers, text, json };
}

describe.each(FRAMEWORKS)("leash/http on a real %s server on loopback", (framework) => {
  it("allow: the handler runs with the decision attached; the session comes from the sid cookie", async () => {
    const r = await call(framework, "GET", "/", { headers: { cookie: "theme=dark; sid=s-allow", "x-user": "ana" } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ effect: "allow", action: "page.read", rules: ["open"], session: "s-allow" });
    const event = fixtures.get(framework)!.events.find((e) => e.kind === "decision" && e.id === r.json.id);
    // The framework's own route pattern when it has one (fastify's catch-all), else the matched `routes` pattern.
    expect(event).toMatchObject({ request: { principal: { kind: "human", id: "ana" }, context: { method: "GET", path: "/", route: framework === "fastify" ? "/*" : "/" } } });
  });

  it("an action no route names is derived from the method and path", async () => {
    const r = await call(framework, "GET", "/orders/42");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ effect: "allow", action: "orders.read" });
  });

  it("deny: 403 application/problem+json with the reason, the rule ids and the decision id", async () => {
    const r = await call(framework, "GET", "/admin/users");
    expect(r.status).toBe(403);
    expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.json).toEqual({
      type: "about:blank",
      title: "Forbidden",
      status: 403,
      detail: "admins only",
      decisionId: expect.any(String),
      effect: "deny",
      rules: ["admin-only"],
      reasons: [{ rule: "admin-only", message: "admins only" }],
    });
    expect(fixtures.get(framework)!.events.some((e) => e.kind === "decision" && e.id === r.json.decisionId && e.decision.effect === "deny")).toBe(true);
  });

  it("a rate deny: 429 with Retry-After from validUntil", async () => {
    const client = { "x-client": `198.51.100.${FRAMEWORKS.indexOf(framework)}` };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(framework, "POST", "/login", { headers: client, body: {} })).status);
    const r = await call(framework, "POST", "/login", { headers: client, body: {} });
    expect(statuses).toEqual([200, 200, 200]);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("60");
    expect(r.json).toMatchObject({ status: 429, title: "Too Many Requests", retryAfter: 60, rules: ["per-address"], detail: "too many login attempts from this address" });
  });

  it("a used-up limit: 429 with Retry-After until the window frees (R310)", async () => {
    const cookie = { cookie: `sid=reports-${framework}` };
    expect((await call(framework, "POST", "/reports", { headers: cookie, body: {} })).status).toBe(200);
    expect((await call(framework, "POST", "/reports", { headers: cookie, body: {} })).status).toBe(200);
    const r = await call(framework, "POST", "/reports", { headers: cookie, body: {} });
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("3600");
    expect(r.json).toMatchObject({ rules: [], reasons: expect.arrayContaining([expect.objectContaining({ code: "R310", rule: "reports" })]) });
  });

  it("challenge: 401 with an RFC 9470 WWW-Authenticate naming the acr value", async () => {
    const small = await call(framework, "POST", "/checkout", { body: { amount: 20 } });
    expect(small.status).toBe(200);
    const r = await call(framework, "POST", "/checkout", { body: { amount: 500 } });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe('Bearer realm="leash", error="insufficient_user_authentication", error_description="rule step-up challenges payment.submit", acr_values="urn:example:acr:mfa"');
    expect(r.json).toMatchObject({ status: 401, effect: "challenge", rules: ["step-up"], challenges: [{ challenge: "mfa", satisfiedBy: [] }] });
  });

  it("challenge with the onChallenge hook: the hook's response instead", async () => {
    const r = await call(framework, "POST", "/checkout", { headers: { "x-step-up": "redirect" }, body: { amount: 500 } });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toMatch(/^\/step-up\?decision=.+/);
  });

  it("revoke: 401, the session is revoked (its cookie cleared, onRevoke told), later requests in it are denied", async () => {
    const f = fixtures.get(framework)!;
    const cookie = { cookie: `sid=closing-${framework}` };
    expect((await call(framework, "GET", "/me", { headers: cookie })).status).toBe(200);
    const r = await call(framework, "DELETE", "/account", { headers: cookie });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe('Bearer realm="leash", error="invalid_token", error_description="the session was revoked"');
    expect(r.headers.get("set-cookie")).toBe("sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    expect(r.json).toMatchObject({ status: 401, effect: "revoke", rules: ["close-account"], detail: "closing the account ends the session" });
    expect(f.revoked.map((c) => c.request.session)).toContain(`closing-${framework}`);
    const after = await call(framework, "GET", "/me", { headers: cookie });
    expect(after.status).toBe(403);
    expect(after.json).toMatchObject({ reasons: [expect.objectContaining({ code: "R307" })] });
    const decided = f.events.find((e) => e.kind === "decision" && e.id === r.json.decisionId);
    expect(decided).toMatchObject({ decision: { obligations: [{ kind: "revoke", rule: "close-account", key: `session:closing-${framework}` }] } });
  });

  it("a request the mapping cannot map: 403 with R337, reported through onError, the handler never runs", async () => {
    const f = fixtures.get(framework)!;
    const before = f.events.length;
    const r = await call(framework, "GET", "/", { headers: { "x-break": "1" } });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ status: 403, code: "R337", detail: expect.stringContaining("no user store") });
    expect(f.errors.at(-1)).toMatchObject({ code: "R337" });
    expect(f.events.length).toBe(before);
  });

  it("skip: requests the options exempt reach the handler without a decision", async () => {
    const r = await call(framework, "GET", "/health");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ unguarded: true });
  });

  it("the decision id of the response is the id of the Guard's event", async () => {
    const r = await call(framework, "GET", "/me", { headers: { cookie: "sid=ids" } });
    const f = fixtures.get(framework)!;
    expect(f.events.filter((e) => e.kind === "decision" && e.id === r.json.id)).toHaveLength(1);
  });
});

describe("fastify route configuration", () => {
  it("config.leash.action names a route's action", async () => {
    const r = await call("fastify", "GET", "/configured", { headers: { cookie: "sid=configured" } });
    expect(r.json).toMatchObject({ effect: "allow", action: "report.create" });
  });
});
