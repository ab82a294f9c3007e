/**
 * docs/guides/http.md runs: each `// file:` block is written out, imported, served on loopback by
 * its framework, and answers as the page says.
 */
import type { Server } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Guard } from "../../src/guard/index.js";
import type { DecisionLog } from "../../src/log/index.js";
import { startInChild } from "./codegen-server.js";
import { docFiles, docModule, inScratchDir } from "./doc-blocks.js";
import { closeServer, whenListening } from "./loopback.js";

const PAGE = "docs/guides/http.md";
let scratch: ReturnType<typeof inScratchDir>;
beforeAll(() => void (scratch = inScratchDir()));
afterAll(() => scratch.restore());

const listen = whenListening;
const stop = closeServer;

describe("docs/guides/http.md", () => {
  it("has the blocks this test runs", () => {
    expect([...docFiles(PAGE).keys()]).toEqual(["express-app.ts", "fastify-app.ts", "hono-app.ts", "next-route.ts", "streams-app.ts", "caep-app.ts", "observed.ts"]);
  });

  it("express-app.ts: allows the customer, refuses the anonymous checkout, challenges then rate-limits a login bot; one log line per request", async () => {
    const m = (await import(docModule(PAGE, "express-app.ts"))) as { app: import("express").Express; guard: Guard; log: DecisionLog };
    const server = m.app.listen(0, "127.0.0.1");
    const url = await listen(server);
    try {
      const ana = { cookie: "sid=s-ana" };
      // The demo's sessions hold ana's; a request without a cookie is anonymous.
      const catalog = await fetch(`${url}/catalog`, { headers: ana });
      expect(catalog.status).toBe(200);
      const paid = await fetch(`${url}/checkout`, { method: "POST", headers: ana });
      expect(paid.status).toBe(200);
      expect(((await paid.json()) as { decision: string }).decision).toMatch(/^[0-9a-f]{12}-/);
      const anonymous = await fetch(`${url}/checkout`, { method: "POST", headers: { cookie: "sid=s-unknown" } });
      expect(anonymous.status).toBe(403);
      expect(anonymous.headers.get("content-type")).toMatch(/^application\/problem\+json/);

      const logins: Response[] = [];
      for (let i = 0; i < 21; i++) logins.push(await fetch(`${url}/login`, { method: "POST" }));
      expect(logins.map((r) => r.status)).toEqual([...Array(5).fill(401), ...Array(15).fill(401), 429]);
      expect(logins[4]!.headers.get("www-authenticate")).toBeNull();
      expect(logins[5]!.headers.get("www-authenticate")).toBe('Bearer realm="leash", error="insufficient_user_authentication", error_description="many failed logins from this address", acr_values="captcha"');
      const retryAfter = Number(logins[20]!.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await logins[20]!.json()).toMatchObject({ status: 429, rules: ["login-flood"], retryAfter });

      await m.log.flush();
      const lines = readFileSync(join(scratch.dir, "decisions.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { kind: string });
      expect(lines.filter((l) => l.kind === "decision")).toHaveLength(3 + 21);
      expect(lines.filter((l) => l.kind === "signal")).toHaveLength(5);
    } finally {
      await stop(server);
      await m.guard.close();
      await m.log.close();
    }
  });

  it("fastify-app.ts: the catalog and a configured route are decided, /health is not", async () => {
    // fastify compiles code from strings: its server runs in a process of its own (codegen-child.ts).
    const app = await startInChild(docModule(PAGE, "fastify-app.ts"), "app");
    try {
      const catalog = await fetch(`${app.url}/catalog`);
      expect(catalog.status).toBe(200);
      expect(((await catalog.json()) as { decision: string }).decision).toMatch(/-/);
      expect((await fetch(`${app.url}/checkout`, { method: "POST", headers: { cookie: "sid=s-1" } })).status).toBe(200);
      // Without a session the rules keyed by session fail closed.
      expect((await fetch(`${app.url}/checkout`, { method: "POST" })).status).toBe(403);
      expect(await (await fetch(`${app.url}/health`)).json()).toEqual({ ok: true });
    } finally {
      await app.close();
    }
  });

  it("hono-app.ts: guarded is a Fetch handler served by @hono/node-server", async () => {
    const m = (await import(docModule(PAGE, "hono-app.ts"))) as { guarded: (r: Request, ...rest: unknown[]) => Promise<Response> };
    const server = serve({ fetch: m.guarded, port: 0, hostname: "127.0.0.1" }) as Server;
    const url = await listen(server);
    try {
      const catalog = await fetch(`${url}/catalog`);
      expect(catalog.status).toBe(200);
      expect(((await catalog.json()) as { decision: string }).decision).toMatch(/-/);
      expect((await fetch(`${url}/cart`, { method: "POST" })).status).toBe(200);
      const unnamed = await fetch(`${url}/admin`);
      expect(unnamed.status).toBe(403);
      // GET /admin is admin.read, derived: the policy does not declare it, so no rule applies.
      expect(await unnamed.json()).toMatchObject({ reasons: [expect.objectContaining({ code: "R316", rule: null })] });
    } finally {
      await stop(server);
    }
  });

  it("next-route.ts: POST is a route handler the Fetch API calls", async () => {
    const m = (await import(docModule(PAGE, "next-route.ts"))) as { POST: (r: Request) => Promise<Response> };
    const agent = await m.POST(new Request("http://localhost/checkout", { method: "POST", headers: { "x-agent": "shop-assistant", cookie: "sid=s-7", "x-forwarded-for": "192.0.2.10, 10.0.0.1" } }));
    expect(agent.status).toBe(200);
    expect(await agent.json()).toEqual({ paid: true });
    const anonymous = await m.POST(new Request("http://localhost/checkout", { method: "POST", headers: { cookie: "sid=s-8", "x-forwarded-for": "192.0.2.11" } }));
    expect(anonymous.status).toBe(403);
    // Without an address the library's rules keyed by context.ip fail closed (R305): a challenge.
    const unknown = await m.POST(new Request("http://localhost/checkout", { method: "POST", headers: { "x-agent": "shop-assistant", cookie: "sid=s-9" } }));
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ effect: "challenge", rules: expect.arrayContaining(["checkout-card-testing-by-ip"]) });
  });

  it("observed.ts: a log line per decision, through fanOut with telemetry", async () => {
    const m = (await import(docModule(PAGE, "observed.ts"))) as { guard: Guard; log: DecisionLog };
    for (let i = 0; i < 3; i++) await m.guard.decide({ principal: { kind: "human", id: "ana" }, action: "catalog.search" });
    await m.log.close();
    const lines = readFileSync(join(scratch.dir, "observed.jsonl"), "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0]!)).toMatchObject({ kind: "decision", labels: { service: "shop" }, effect: "allow" });
  });

  it("quotes the replay output that test/e2e/http-example.test.ts checks", () => {
    const page = readFileSync(join(__dirname, "..", "..", PAGE), "utf8");
    expect(page).toContain("18 decisions would change, in 3 groups:");
  });
});
