/**
 * The same guarded application on express 5, fastify 5 and hono (through @hono/node-server), each
 * a real server on a loopback port, for the HTTP adapter tests.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { decisionOf, expressGuard, fastifyGuard, guardFetch, type HttpDecision, type HttpGuardOptions } from "../../src/adapters/http/index.js";

export type Framework = "express" | "fastify" | "hono";
export const FRAMEWORKS: readonly Framework[] = ["express", "fastify", "hono"];

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** What every handler answers: the decision the adapter attached. */
function echo(leash: HttpDecision | null | undefined) {
  return leash ? { id: leash.id, effect: leash.decision.effect, action: leash.decision.action, rules: leash.decision.rules, session: leash.request.session ?? null, resource: leash.request.resource ?? null } : { unguarded: true };
}

/** Starts `framework` with the guard options; `body` says how the JSON body is read for the mapping. */
export async function startServer(framework: Framework, options: HttpGuardOptions): Promise<RunningServer> {
  if (framework === "express") {
    const app = express();
    app.use(express.json());
    app.use(expressGuard(options));
    app.all("/{*rest}", (_req, res) => void res.json(echo(res.locals.leash as HttpDecision | undefined)));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    return nodeServer(server);
  }
  if (framework === "fastify") {
    const app = Fastify();
    await app.register(fastifyGuard(options));
    app.all("/*", async (request) => echo((request as unknown as { leash: HttpDecision | null }).leash));
    app.get("/configured", { config: { leash: { action: "report.create" } } }, async (request) => echo((request as unknown as { leash: HttpDecision | null }).leash));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const port = (app.server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  }
  const app = new Hono();
  app.all("*", (c) => c.json(echo(decisionOf(c.req.raw))));
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: guardFetch(app.fetch, options), port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server));
  });
  return nodeServer(server);
}

function nodeServer(server: Server): RunningServer {
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** The request's JSON body as the mapping reads it: parsed by express and fastify, read from the Fetch `Request` for hono. */
export async function bodyOf(raw: unknown, parsed: unknown): Promise<Record<string, unknown>> {
  if (parsed !== undefined && parsed !== null && typeof parsed === "object") return parsed as Record<string, unknown>;
  if (raw instanceof Request && raw.headers.get("content-type")?.includes("json")) return (await raw.clone().json()) as Record<string, unknown>;
  return {};
}
