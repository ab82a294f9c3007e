/**
 * The CAEP receiver of leash/http (docs/guides/http.md, "Security events (CAEP)"; the mapping in
 * docs/reevaluation.md): the guide's express app on loopback receives signed Security Event
 * Tokens, revokes and signals through the Guard, and a hold on the session turns; malformed,
 * unverified and unmappable tokens are refused with 400, their RFC 8935 error and R343-R345.
 */
import { createHmac } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caepReceiver, type CaepOutcome } from "../../src/adapters/http/index.js";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, type Guard, type HoldChange } from "../../src/guard/index.js";
import { docModule, inScratchDir } from "./doc-blocks.js";
import { closeServer } from "./loopback.js";

const PAGE = "docs/guides/http.md";
const SECRET = "a secret shared with the IdP";
const ISS = "https://idp.example.com/";
const AUD = "https://shop.example.com/";
const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
function sign(claims: Record<string, unknown>, secret = SECRET, alg = "HS256"): string {
  const head = `${b64({ alg, typ: "secevent+jwt" })}.${b64(claims)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}
const set = (events: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ iss: ISS, aud: AUD, iat: 1_700_000_000, jti: `j-${Math.random()}`, events, ...extra });
const complex = (session: string, user: string) => ({ format: "complex", session: { format: "opaque", id: session }, user: { format: "iss_sub", iss: ISS, sub: user } });

let scratch: ReturnType<typeof inScratchDir>;
let server: Server;
let url: string;
let m: { guard: Guard; received: CaepOutcome[]; app: import("express").Express };

beforeAll(async () => {
  scratch = inScratchDir();
  m = (await import(docModule(PAGE, "caep-app.ts"))) as typeof m;
  server = m.app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await closeServer(server);
  await m.guard.close();
  scratch.restore();
});

const post = (body: string, type = "application/secevent+jwt") => fetch(`${url}/caep`, { method: "POST", headers: { "content-type": type }, body });

describe("docs/guides/http.md: caep-app.ts", () => {
  it("session-revoked: 202, the session is revoked and a hold on it turns, with the IdP's reason", async () => {
    const request = { principal: { kind: "human", id: "ana" }, action: "account.read", session: "s-ana" };
    const decision = await m.guard.decide(request);
    expect(decision.effect).toBe("allow");
    const changes: HoldChange[] = [];
    const hold = m.guard.hold(decision, request, { onChange: (c) => changes.push(c) });
    const res = await post(sign(set({ [`${CAEP}session-revoked`]: { subject: complex("s-ana", "ana"), event_timestamp: 1_700_000_000, reason_admin: { en: "Landspeed Policy Violation: C076E82F" } } })));
    expect(res.status).toBe(202);
    expect(m.received.at(-1)).toMatchObject({ accepted: true, events: [{ type: `${CAEP}session-revoked`, signal: "session.revoked", revoked: ["session:s-ana"] }] });
    await new Promise((r) => setTimeout(r, 20));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ revoked: true, cause: "revocation" });
    expect(changes[0]!.reason).toContain("session:s-ana was revoked: session-revoked: Landspeed Policy Violation: C076E82F");
    hold.release();
  });

  it("credential-change: the policy's revoke signal rule ends the user's principal; their requests are refused", async () => {
    expect((await fetch(`${url}/account`, { headers: { "x-user": "bob" } })).status).toBe(200);
    const res = await post(sign(set({ [`${CAEP}credential-change`]: { subject: { format: "email", email: "bob" }, credential_type: "password", change_type: "update" } })));
    expect(res.status).toBe(202);
    expect(m.received.at(-1)).toMatchObject({ accepted: true, events: [{ signal: "credential.changed", revoked: ["principal:human/bob"] }] });
    const refused = await fetch(`${url}/account`, { headers: { "x-user": "bob" } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toContain("the password was changed");
  });

  it("token-claims-change and assurance-level-change become signals with their context", async () => {
    const res = await post(
      sign(
        set({
          [`${CAEP}token-claims-change`]: { subject: complex("s-cy", "cy"), claims: { role: "ro-admin" } },
          [`${CAEP}assurance-level-change`]: { subject: complex("s-cy", "cy"), namespace: "NIST-AAL", current_level: "nist-aal1", previous_level: "nist-aal2", change_direction: "decrease" },
        }),
      ),
    );
    expect(res.status).toBe(202);
    expect(m.received.at(-1)).toMatchObject({ accepted: true, events: [{ signal: "token.claims-changed", revoked: [] }, { signal: "assurance.changed", revoked: [] }] });
  });

  const refusals: [string, () => Promise<Response>, number, string, string][] = [
    ["a signature made with another secret", () => post(sign(set({ [`${CAEP}session-revoked`]: { subject: complex("s1", "u1") } }), "not the secret")), 400, "authentication_failed", "R344"],
    ["an RS256 token and no verify function", () => post(sign(set({ [`${CAEP}session-revoked`]: { subject: complex("s1", "u1") } }), SECRET, "RS256")), 400, "authentication_failed", "R344"],
    ["an unsigned JSON SET", () => post(JSON.stringify(set({ [`${CAEP}session-revoked`]: { subject: complex("s1", "u1") } })), "application/json"), 400, "authentication_failed", "R344"],
    ["another issuer", () => post(sign(set({ [`${CAEP}session-revoked`]: { subject: complex("s1", "u1") } }, { iss: "https://evil.example/" }))), 400, "invalid_issuer", "R344"],
    ["another audience", () => post(sign(set({ [`${CAEP}session-revoked`]: { subject: complex("s1", "u1") } }, { aud: "https://other.example/" }))), 400, "invalid_audience", "R344"],
    ["a body that is no token", () => post("not.a-token"), 400, "invalid_request", "R343"],
    ["an empty body", () => post(""), 400, "invalid_request", "R343"],
    ["a payload that is not JSON", () => post(`${b64({ alg: "HS256" })}.${Buffer.from("{oops").toString("base64url")}.x`), 400, "invalid_request", "R343"],
    ["a token without events", () => post(sign({ iss: ISS, aud: AUD, jti: "x" })), 400, "invalid_request", "R343"],
    ["another content type", () => post("hello", "text/plain"), 400, "invalid_request", "R343"],
    ["only event types leash does not map", () => post(sign(set({ "https://schemas.openid.net/secevent/risc/event-type/account-disabled": { subject: complex("s1", "u1") } }))), 400, "invalid_request", "R345"],
    ["a subject with no session and no user", () => post(sign(set({ [`${CAEP}session-revoked`]: { subject: { format: "complex", tenant: { format: "opaque", id: "t1" } } } }))), 400, "invalid_request", "R345"],
  ];
  for (const [what, send, status, err, code] of refusals) {
    it(`refuses ${what}: ${status} ${err} ${code}, and changes nothing`, async () => {
      const before = m.received.length;
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body = (await res.json()) as { err: string; description: string; code: string };
      expect(body).toMatchObject({ err, code });
      expect(body.description.length).toBeGreaterThan(10);
      expect(m.received.slice(before)).toMatchObject([{ accepted: false, code, err }]);
      expect((await m.guard.decide({ principal: { kind: "human", id: "u1" }, action: "account.read", session: "s1" })).effect).toBe("allow");
    });
  }
});

describe("caepReceiver", () => {
  it("is not made without a way to verify, unless allowUnverified says so", () => {
    const guard = createGuard({ policy: compilePolicyOrThrow("rule all: allow *") });
    expect(() => caepReceiver({ guard })).toThrow(/needs a secret or a verify function/);
    expect(() => caepReceiver({ guard, allowUnverified: true })).not.toThrow();
  });

  it("on hono (the Fetch API): a verify function accepts a JSON SET; one it refuses is R344", async () => {
    const policy = compilePolicyOrThrow("actions {\n  a.read\n}\nrule all: allow a.read for human *\n");
    const guard = createGuard({ policy });
    const caep = caepReceiver({ guard, verify: (t) => t.claims.iss === ISS && t.claims.jti !== "forged" });
    const app = new Hono();
    app.post("/caep", (c) => caep.fetch(c.req.raw));
    const hono = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server)) as Server;
    });
    const at = `http://127.0.0.1:${(hono.address() as AddressInfo).port}/caep`;
    try {
      const ok = await fetch(at, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(set({ [`${CAEP}session-revoked`]: { subject: complex("h1", "hu") } })) });
      expect(ok.status).toBe(202);
      expect((await guard.decide({ principal: { kind: "human", id: "hu" }, action: "a.read", session: "h1" })).reasons[0]).toMatchObject({ code: "R307" });
      const forged = await fetch(at, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(set({ [`${CAEP}session-revoked`]: { subject: complex("h2", "hu") } }, { jti: "forged" })) });
      expect(forged.status).toBe(400);
      expect(await forged.json()).toMatchObject({ err: "authentication_failed", code: "R344" });
      expect((await guard.decide({ principal: { kind: "human", id: "hu" }, action: "a.read", session: "h2" })).effect).toBe("allow");
    } finally {
      await new Promise<void>((resolve) => hono.close(() => resolve()));
      await guard.close();
    }
  });
});
