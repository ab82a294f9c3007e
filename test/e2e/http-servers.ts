/**
 * The guarded application of the HTTP adapter tests on express 5, fastify 5 and hono (through
 * @hono/node-server), each a real server on a loopback port, with a Guard whose events, revoked
 * sessions and reported errors the tests read through `snapshot()`. Fastify runs in a process of
 * its own (see codegen-child.ts); express and hono in the test's.
 */
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { decisionOf, expressGuard, fastifyGuard, guardFetch, type HttpDecision, type HttpGuardOptions, type HttpRequestView, type RefusalContext } from "../../src/adapters/http/index.js";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, type GuardEvent } from "../../src/guard/index.js";
import { startInChild } from "./codegen-server.js";
import { closeServer, listening, urlOf } from "./loopback.js";

export type Framework = "express" | "fastify" | "hono";
export const FRAMEWORKS: readonly Framework[] = ["express", "fastify", "hono"];

export const policy = compilePolicyOrThrow(
  `rule open: allow page.read, orders.read, login.attempt, payment.submit, account.delete, session.read, admin.read
rule admin-only: deny admin.read reason "admins only"
rule per-address: deny login.attempt when count(attempted login.attempt by context.ip within 1m) >= 3
  reason "too many login attempts from this address"
rule reports: allow report.create limit 2 per session within 1h
rule step-up: challenge payment.submit when context has amount and context.amount > 100 require mfa
rule close-account: revoke account.delete reason "closing the account ends the session"`,
  { file: "http-test.rules" },
);

/** The Guard's clock: fixed, so Retry-After values are exact. */
export const T = Date.UTC(2026, 11, 1, 12);

/** A Guard event as the tests read it (JSON: the policy left out). */
export type EventJSON = Record<string, unknown> & { kind: GuardEvent["kind"]; id: string };

export interface Snapshot {
  readonly events: EventJSON[];
  /** Sessions `onRevoke` was told of. */
  readonly revoked: string[];
  readonly errors: { code: string; message: string }[];
}

export interface RunningServer {
  readonly url: string;
  snapshot(): Promise<Snapshot>;
  close(): Promise<void>;
}

/** The request's JSON body as the mapping reads it: parsed by express and fastify, read from the Fetch `Request` for hono. */
async function bodyOf(raw: unknown, parsed: unknown): Promise<Record<string, unknown>> {
  if (parsed !== undefined && parsed !== null && typeof parsed === "object") return parsed as Record<string, unknown>;
  if (raw instanceof Request && raw.headers.get("content-type")?.includes("json")) return (await raw.clone().json()) as Record<string, unknown>;
  return {};
}

function optionsFor(record: { events: GuardEvent[]; revoked: string[]; errors: { code: string; message: string }[] }): HttpGuardOptions {
  const guard = createGuard({ policy, now: () => T, onDecision: (e) => record.events.push(e) });
  return {
    guard,
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
    onRevoke: (ctx: RefusalContext) => void record.revoked.push(ctx.request.session ?? ""),
    onError: (e: { code: string; message: string }) => void record.errors.push(e),
  };
}

/** What every handler answers: the decision the adapter attached. */
function echo(leash: HttpDecision | null | undefined) {
  return leash ? { id: leash.id, effect: leash.decision.effect, action: leash.decision.action, rules: leash.decision.rules, session: leash.request.session ?? null, resource: leash.request.resource ?? null } : { unguarded: true };
}

/** Starts `framework` in this process. */
export async function startHere(framework: Framework): Promise<RunningServer> {
  const record = { events: [] as GuardEvent[], revoked: [] as string[], errors: [] as { code: string; message: string }[] };
  const options = optionsFor(record);
  const snapshot = async (): Promise<Snapshot> => ({
    events: record.events.map(({ policy: _p, ...rest }) => JSON.parse(JSON.stringify(rest)) as EventJSON),
    revoked: [...record.revoked],
    errors: [...record.errors],
  });
  const done = () => options.guard.close();
  if (framework === "express") {
    const app = express();
    app.use(express.json());
    app.use(expressGuard(options));
    app.all("/{*rest}", (req, res) => void res.json({ ...echo(res.locals.leash as HttpDecision | undefined), same: decisionOf(req) === res.locals.leash }));
    return nodeServer(await listening((cb) => app.listen(0, "127.0.0.1", cb)), snapshot, done);
  }
  if (framework === "fastify") {
    const app = Fastify();
    await app.register(fastifyGuard(options));
    app.all("/*", async (request) => ({ ...echo((request as unknown as { leash: HttpDecision | null }).leash), same: decisionOf(request) === (request as unknown as { leash: HttpDecision | null }).leash }));
    app.get("/configured", { config: { leash: { action: "report.create" } } }, async (request) => echo(decisionOf(request)));
    await app.listen({ port: 0, host: "127.0.0.1" });
    return {
      url: urlOf(app.server),
      snapshot,
      close: async () => {
        await app.close();
        await done();
      },
    };
  }
  const app = new Hono();
  app.all("*", (c) => c.json({ ...echo(decisionOf(c.req.raw)), same: true }));
  return nodeServer(await listening((cb) => serve({ fetch: guardFetch(app.fetch, options), port: 0, hostname: "127.0.0.1" }, cb) as Server), snapshot, done);
}

/** `startHere("fastify")`, for codegen-child.ts. */
export const startFastifyHere = () => startHere("fastify");

/** Starts `framework` for a test: fastify in a process of its own, the others here. */
export async function startServer(framework: Framework): Promise<RunningServer> {
  if (framework !== "fastify") return startHere(framework);
  const child = await startInChild(import.meta.url, "startFastifyHere");
  return { url: child.url, snapshot: () => child.snapshot<Snapshot>(), close: () => child.close() };
}

function nodeServer(server: Server, snapshot: () => Promise<Snapshot>, done: () => Promise<void>): RunningServer {
  return {
    url: urlOf(server),
    snapshot,
    close: async () => {
      await closeServer(server);
      await done();
    },
  };
}
