/**
 * Guarded streaming applications for test/e2e/http-streams.test.ts: express 5, fastify 5 and hono
 * (through @hono/node-server), each a real server on a loopback port over a Redis store (its URL in
 * LEASH_STREAM_REDIS), with `hold` on the streaming routes: `/feed` (server-sent events) and
 * `/download` (a chunked body), both writing a chunk every 20 ms until they are ended. The express
 * server also takes WebSockets on `/live` (the `ws` package, upgrades through `guardUpgrade`).
 * Fastify runs in a process of its own (codegen-child.ts).
 */
import type { Server, ServerResponse } from "node:http";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { WebSocketServer } from "ws";
import { expressGuard, fastifyGuard, guardFetch, guardUpgrade, type HttpGuardOptions, type StreamEnd } from "../../src/adapters/http/index.js";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { closeServer, listening, urlOf } from "./loopback.js";

export const STREAM_POLICY = `
actions {
  feed.watch, file.download, live.join
}
rule watchers: allow feed.watch, file.download, live.join for human *
rule idp: revoke signal session.revoked
  reason "the identity provider ended the session"
`;
export const PREFIX = "leash-streams:";

export interface StreamServer {
  readonly url: string;
  /** What `onStreamEnd` was told (without the change's decisions). */
  snapshot(): Promise<{ transport: string; effect: string; reason: string; cause: string }[]>;
  close(): Promise<void>;
}

async function optionsOf(ends: StreamEnd[]): Promise<HttpGuardOptions> {
  const store = redisStore({ url: process.env.LEASH_STREAM_REDIS!, prefix: PREFIX });
  await store.ready();
  // Holds are notified once the store's subscription is in place.
  await new Promise<void>((resolve) => store.subscribe!(() => {}, resolve));
  return {
    guard: createGuard({ policy: compilePolicyOrThrow(STREAM_POLICY), store }),
    routes: { "GET /feed": "feed.watch", "GET /download": "file.download", "GET /live": "live.join" },
    principal: () => ({ kind: "human", id: "ana" }),
    hold: ["GET /feed", "GET /download"],
    onStreamEnd: (e) => void ends.push(e),
  };
}

const snapshotOf = (ends: StreamEnd[]) => async () => ends.map((e) => ({ transport: e.transport, effect: e.effect, reason: e.reason, cause: e.change.cause }));

/** Writes `tick` every 20 ms to a Node response until it ends. */
function ticks(res: ServerResponse, sse: boolean): void {
  res.statusCode = 200;
  res.setHeader("content-type", sse ? "text/event-stream" : "application/octet-stream");
  res.flushHeaders();
  const timer = setInterval(() => {
    if (res.writableEnded || res.destroyed) return clearInterval(timer);
    res.write(sse ? "data: tick\n\n" : "tick\n");
  }, 20);
  res.once("close", () => clearInterval(timer));
}

/** A body of `tick` every 20 ms, for the Fetch API. */
function tickStream(sse: boolean): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(sse ? "data: tick\n\n" : "tick\n");
  let timer: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream({
    start(controller) {
      timer = setInterval(() => {
        try {
          controller.enqueue(bytes);
        } catch {
          clearInterval(timer);
        }
      }, 20);
    },
    cancel() {
      clearInterval(timer);
    },
  });
}

export async function startExpress(): Promise<StreamServer> {
  const ends: StreamEnd[] = [];
  const options = await optionsOf(ends);
  const app = express();
  app.use(expressGuard(options));
  app.get("/feed", (_req, res) => ticks(res, true));
  app.get("/download", (_req, res) => ticks(res, false));
  const server = await listening((cb) => app.listen(0, "127.0.0.1", cb));
  const upgrades = guardUpgrade(options);
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", async (req, socket, head) => {
    const leash = await upgrades.check(req, socket);
    if (leash === null) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgrades.hold(leash, ws);
      ws.send("welcome");
    });
  });
  return nodeServer(server, snapshotOf(ends), async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    await options.guard.close();
  });
}

export async function startFastify(): Promise<StreamServer> {
  const ends: StreamEnd[] = [];
  const options = await optionsOf(ends);
  const app = Fastify();
  await app.register(fastifyGuard(options));
  app.get("/feed", (_request, reply) => {
    reply.hijack();
    ticks(reply.raw, true);
  });
  app.get("/download", (_request, reply) => {
    reply.hijack();
    ticks(reply.raw, false);
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    url: urlOf(app.server),
    snapshot: snapshotOf(ends),
    close: async () => {
      await app.close();
      await options.guard.close();
    },
  };
}

export async function startHono(): Promise<StreamServer> {
  const ends: StreamEnd[] = [];
  const options = await optionsOf(ends);
  const app = new Hono();
  app.get("/feed", () => new Response(tickStream(true), { headers: { "content-type": "text/event-stream" } }));
  app.get("/download", () => new Response(tickStream(false), { headers: { "content-type": "application/octet-stream" } }));
  const server = await listening((cb) => serve({ fetch: guardFetch(app.fetch, options), port: 0, hostname: "127.0.0.1" }, cb) as Server);
  return nodeServer(server, snapshotOf(ends), () => options.guard.close());
}

function nodeServer(server: Server, snapshot: StreamServer["snapshot"], done: () => Promise<void>): StreamServer {
  return {
    url: urlOf(server),
    snapshot,
    close: async () => {
      await closeServer(server);
      await done();
    },
  };
}
