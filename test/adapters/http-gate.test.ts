import { describe, expect, it } from "vitest";
import { deriveAction, HttpGate, type RawView } from "../../src/adapters/http/index.js";
import { cookieValue } from "../../src/adapters/http/cookies.js";
import { pathOf } from "../../src/adapters/http/fetch.js";
import { RouteTable } from "../../src/adapters/http/routes.js";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, type GuardEvent } from "../../src/guard/index.js";

function view(method: string, path: string, headers: Record<string, string> = {}): RawView {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method, path, url: path, header: (n) => lower[n.toLowerCase()], cookie: (n) => cookieValue(lower.cookie, n), ip: "127.0.0.1", body: undefined, raw: null };
}

describe("routes", () => {
  const table = new RouteTable({ "POST /login": "login.attempt", "GET /orders/:id": "order.read", "* /admin/*": "admin.any", "GET /orders/:id/items/:item": "order.item.read" });
  it("match by method and segments; :name takes one segment, a final * the rest, * any method", () => {
    expect(table.match("POST", "/login")).toEqual({ action: "login.attempt", pattern: "/login", params: {} });
    expect(table.match("GET", "/login")).toBeNull();
    expect(table.match("GET", "/orders/42")).toEqual({ action: "order.read", pattern: "/orders/:id", params: { id: "42" } });
    expect(table.match("GET", "/orders/42/items/a%20b")).toMatchObject({ action: "order.item.read", params: { id: "42", item: "a b" } });
    expect(table.match("GET", "/orders")).toBeNull();
    expect(table.match("DELETE", "/admin/users/7")).toMatchObject({ action: "admin.any" });
  });
  it("a malformed pattern is a TypeError when the middleware is made", () => {
    expect(() => new RouteTable({ "/login": "x.y" })).toThrow(/METHOD \/path/);
    expect(() => new RouteTable({ "GET /a/*/b": "x.y" })).toThrow(/only at the end/);
  });
});

describe("routes: literal paths answered without a scan", () => {
  it("give the first matching route in table order, as the scan does", () => {
    const table = new RouteTable({ "GET /:page": "page.read", "GET /catalog": "catalog.search", "POST /catalog": "catalog.create", "* /catalog": "catalog.any", "* /health": "health", "PUT /health": "health.put", "GET /a/b": "ab" });
    const scan = (method: string, path: string) => (table as unknown as { scan(m: string, p: string): unknown }).scan(method, path);
    for (const method of ["GET", "POST", "PUT", "DELETE", "PROPFIND"])
      for (const path of ["/catalog", "/health", "/a/b", "/a/b/", "/catalog/", "/x", "/"]) expect(table.match(method, path), `${method} ${path}`).toEqual(scan(method, path));
    expect(table.match("GET", "/catalog")).toMatchObject({ action: "page.read", params: { page: "catalog" } });
    expect(table.match("POST", "/catalog")).toMatchObject({ action: "catalog.create" });
    expect(table.match("DELETE", "/catalog")).toMatchObject({ action: "catalog.any" });
    expect(table.match("PUT", "/health")).toMatchObject({ action: "health" });
  });
});

describe("pathOf: the path and query of a request URL", () => {
  it("is what new URL gives, for plain and unusual URLs alike", () => {
    const urls = ["http://127.0.0.1:3000/catalog", "http://h/a/b?x=1&y=2", "http://h/a?", "http://h/", "http://h", "http://h/a/./b/../c", "http://h/%2e%2E/x", "http://h/a%20b?q", "http://h/a b", "http://h/ü?ü", "https://h/a\\b", "http://h/a#frag", "http://h/a?q#f", "http://h/.hidden/..x", "http://h/a/.."];
    for (const href of urls) {
      const u = new URL(href);
      expect(pathOf(href), href).toEqual({ path: u.pathname, url: u.pathname + u.search });
    }
  });
});

describe("deriveAction", () => {
  it("names from segments, ids skipped, a verb per method", () => {
    expect(deriveAction("GET", "/orders/42/items")).toBe("orders.items.read");
    expect(deriveAction("POST", "/login")).toBe("login.create");
    expect(deriveAction("DELETE", "/users/3f2b9c1e-8a7d-4e5f-9a0b-1c2d3e4f5a6b")).toBe("users.delete");
    expect(deriveAction("GET", "/")).toBe("root.read");
    expect(deriveAction("PATCH", "/Blog Posts/2024")).toBe("blog-posts.update");
    expect(deriveAction("OPTIONS", "/x")).toBe("x.options");
    expect(deriveAction("GET", `/${"-".repeat(100_000)}a`)).toBe("root.read");
  });
});

describe("cookieValue", () => {
  it("reads one cookie from the header; quoted and encoded values are decoded", () => {
    expect(cookieValue("a=1; sid=abc; b=2", "sid")).toBe("abc");
    expect(cookieValue('sid="q%20v"', "sid")).toBe("q v");
    expect(cookieValue("xsid=1; sid=2", "sid")).toBe("2");
    expect(cookieValue("sid=%E0%A4%A", "sid")).toBe("%E0%A4%A");
    expect(cookieValue(undefined, "sid")).toBeUndefined();
    expect(cookieValue("a=1", "sid")).toBeUndefined();
  });
});

describe("HttpGate", () => {
  it("a revoke whose rule targets another key still revokes the request's session", async () => {
    const policy = compilePolicyOrThrow("rule all: allow *\nrule ban: revoke account.abuse target principal");
    const events: GuardEvent[] = [];
    const guard = createGuard({ policy, onDecision: (e) => events.push(e) });
    const gate = new HttpGate({ guard, action: "account.abuse", principal: () => ({ kind: "human", id: "mallory" }) });
    const r = await gate.check(view("POST", "/abuse", { cookie: "sid=s9" }));
    expect(r).toMatchObject({ kind: "refuse", refusal: { status: 401, headers: { "set-cookie": expect.stringContaining("sid=;") } } });
    expect(events.map((e) => e.kind)).toEqual(["decision", "revoke"]);
    expect(events[1]).toMatchObject({ key: "session:s9" });
    expect((await guard.decide({ principal: { kind: "human", id: "x" }, action: "a.b", session: "s9" })).reasons[0]!.code).toBe("R307");
  });

  it("explain: false keeps rules and reasons out of the body", async () => {
    const policy = compilePolicyOrThrow('rule all: allow *\nrule no: deny secret.read reason "internal rule text"');
    const gate = new HttpGate({ guard: createGuard({ policy }), action: "secret.read", explain: false });
    const r = await gate.check(view("GET", "/s"));
    if (r.kind !== "refuse") throw new Error(r.kind);
    const body = JSON.parse(r.refusal.body) as Record<string, unknown>;
    expect(body).toEqual({ type: "about:blank", title: "Forbidden", status: 403, detail: "Forbidden", decisionId: expect.any(String), effect: "deny" });
    expect(r.refusal.body).not.toContain("internal rule text");
  });

  it("header values stay one printable line whatever a reason holds", async () => {
    const policy = compilePolicyOrThrow('rule all: allow *\nrule s: challenge pay.now reason "say \\"hi\\"\\n\\u{1F600}" require mfa');
    const gate = new HttpGate({ guard: createGuard({ policy }), action: "pay.now" });
    const r = await gate.check(view("POST", "/pay"));
    if (r.kind !== "refuse") throw new Error(r.kind);
    expect(r.refusal.headers["www-authenticate"]).toBe('Bearer realm="leash", error="insufficient_user_authentication", error_description="say \\"hi\\"??", acr_values="mfa"');
  });

  it("a hook that throws is reported and the default refusal is sent", async () => {
    const policy = compilePolicyOrThrow("rule all: allow *\nrule s: challenge pay.now require mfa");
    const errors: string[] = [];
    const gate = new HttpGate({ guard: createGuard({ policy }), action: "pay.now", onChallenge: () => { throw new Error("template missing"); }, onError: (e) => void errors.push(`${e.code} ${e.message}`) });
    const r = await gate.check(view("POST", "/pay"));
    expect(r).toMatchObject({ kind: "refuse", refusal: { status: 401 } });
    expect(errors).toEqual(["R337 a hook threw: template missing"]);
  });

  it("a principal the policy cannot read is denied by the policy (R304), not by the adapter", async () => {
    const policy = compilePolicyOrThrow("rule all: allow *");
    const gate = new HttpGate({ guard: createGuard({ policy }), principal: () => ({ kind: "", id: "x" }) });
    const r = await gate.check(view("GET", "/"));
    expect(r).toMatchObject({ kind: "refuse", refusal: { status: 403 }, leash: { decision: { reasons: [{ code: "R304" }] } } });
  });

  it("options without a guard are a TypeError at once", () => {
    expect(() => new HttpGate({} as never)).toThrow(/options.guard is required/);
  });
});
