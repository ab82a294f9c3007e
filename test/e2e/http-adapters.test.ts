import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FRAMEWORKS, startServer, type Framework, type RunningServer } from "./http-servers.js";

const servers = new Map<Framework, RunningServer>();

beforeAll(async () => {
  for (const framework of FRAMEWORKS) servers.set(framework, await startServer(framework));
}, 120_000);

afterAll(async () => {
  for (const s of servers.values()) await s.close();
});

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

async function call(framework: Framework, method: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  const res = await fetch(servers.get(framework)!.url + path, {
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
  return { status: res.status, headers: res.headers, json };
}

const snapshot = (framework: Framework) => servers.get(framework)!.snapshot();

describe.each(FRAMEWORKS)("leash/http on a real %s server on loopback", (framework) => {
  it("allow: the handler runs with the decision attached; the session comes from the sid cookie", async () => {
    const r = await call(framework, "GET", "/", { headers: { cookie: "theme=dark; sid=s-allow", "x-user": "ana" } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ effect: "allow", action: "page.read", rules: ["open"], session: "s-allow", same: true });
    const event = (await snapshot(framework)).events.find((e) => e.kind === "decision" && e.id === r.json.id);
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
    const events = (await snapshot(framework)).events;
    expect(events.some((e) => e.kind === "decision" && e.id === r.json.decisionId && (e.decision as { effect: string }).effect === "deny")).toBe(true);
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
    const cookie = { cookie: `sid=closing-${framework}` };
    expect((await call(framework, "GET", "/me", { headers: cookie })).status).toBe(200);
    const r = await call(framework, "DELETE", "/account", { headers: cookie });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe('Bearer realm="leash", error="invalid_token", error_description="the session was revoked"');
    expect(r.headers.get("set-cookie")).toBe("sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    expect(r.json).toMatchObject({ status: 401, effect: "revoke", rules: ["close-account"], detail: "closing the account ends the session" });
    const after = await call(framework, "GET", "/me", { headers: cookie });
    expect(after.status).toBe(403);
    expect(after.json).toMatchObject({ reasons: [expect.objectContaining({ code: "R307" })] });
    const s = await snapshot(framework);
    expect(s.revoked).toContain(`closing-${framework}`);
    const decided = s.events.find((e) => e.kind === "decision" && e.id === r.json.decisionId);
    expect(decided).toMatchObject({ decision: { obligations: [{ kind: "revoke", rule: "close-account", key: `session:closing-${framework}` }] } });
  });

  it("a request the mapping cannot map: 403 with R337, reported through onError, the handler never runs", async () => {
    const before = (await snapshot(framework)).events.length;
    const r = await call(framework, "GET", "/", { headers: { "x-break": "1" } });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ status: 403, code: "R337", detail: expect.stringContaining("no user store") });
    const s = await snapshot(framework);
    expect(s.errors.at(-1)).toMatchObject({ code: "R337" });
    expect(s.events.length).toBe(before);
  });

  it("skip: requests the options exempt reach the handler without a decision", async () => {
    const r = await call(framework, "GET", "/health");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ unguarded: true });
  });

  it("the decision id of the response is the id of the Guard's event", async () => {
    const r = await call(framework, "GET", "/me", { headers: { cookie: "sid=ids" } });
    const events = (await snapshot(framework)).events;
    expect(events.filter((e) => e.kind === "decision" && e.id === r.json.id)).toHaveLength(1);
  });
});

describe("fastify route configuration", () => {
  it("config.leash.action names a route's action", async () => {
    const r = await call("fastify", "GET", "/configured", { headers: { cookie: "sid=configured" } });
    expect(r.json).toMatchObject({ effect: "allow", action: "report.create" });
  });
});
