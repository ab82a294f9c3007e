/**
 * leash/http closes what it guards when a held decision turns (docs/guides/http.md, "Streams and
 * WebSockets"): real express, fastify and hono servers on loopback over a real redis-server; the
 * revocation is made by another Guard sharing the store, and each stream ends with its reason —
 * an SSE `leash-end` event, chunked trailers, a cut body (the Fetch API has no trailers), a
 * WebSocket close frame 1008.
 */
import { get } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, type Guard } from "../../src/guard/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { hasRedis, noRedis, startRedis, type RedisServer } from "../helpers/redis-server.js";
import { startInChild } from "./codegen-server.js";
import { PREFIX, startExpress, startHono, STREAM_POLICY, type StreamServer } from "./stream-servers.js";

if (!hasRedis) console.warn(`test/e2e/http-streams.test.ts did not run: ${noRedis}`);

type Framework = "express" | "fastify" | "hono";

describe.runIf(hasRedis || process.env.CI === "true")("held streams on express, fastify and hono, revoked from another Guard", () => {
  let redis: RedisServer;
  let other: Guard;
  const servers = new Map<Framework, StreamServer>();

  beforeAll(async () => {
    redis = await startRedis();
    process.env.LEASH_STREAM_REDIS = redis.url;
    other = createGuard({ policy: compilePolicyOrThrow(STREAM_POLICY), store: redisStore({ url: redis.url, prefix: PREFIX }) });
    servers.set("express", await startExpress());
    servers.set("hono", await startHono());
    const child = await startInChild(new URL("./stream-servers.ts", import.meta.url).href, "startFastify");
    servers.set("fastify", { url: child.url, snapshot: () => child.snapshot(), close: () => child.close() });
  }, 60_000);

  afterAll(async () => {
    for (const s of servers.values()) await s.close();
    await other?.close();
    await redis?.stop();
  });

  /** Reads a body to its end, as text. */
  async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const next = await reader.read();
      if (next.done) return text;
      text += decoder.decode(next.value, { stream: true });
    }
  }

  for (const framework of ["express", "fastify", "hono"] as const) {
    it(`${framework}: an event stream ends with a leash-end event that says why, after a revoke on another Guard`, async () => {
      const server = servers.get(framework)!;
      const session = `sse-${framework}`;
      const res = await fetch(`${server.url}/feed`, { headers: { cookie: `sid=${session}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const body = res.body!;
      const reader = body.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain("data: tick");
      reader.releaseLock();
      expect((await other.revoke({ session }, "stolen session reported")).error).toBeUndefined();
      const all = await readAll(body);
      const event = /event: leash-end\ndata: (.*)\n\n/.exec(all);
      expect(event).not.toBeNull();
      const problem = JSON.parse(event![1]!) as Record<string, unknown>;
      expect(problem).toMatchObject({ status: 403, title: "Forbidden", effect: "deny" });
      expect(String(problem.detail)).toContain(`session:${session} was revoked: stolen session reported`);
      // Nothing follows the event: the stream has ended.
      expect(all.slice(all.indexOf("event: leash-end")).split("\n\n").filter((s) => s !== "")).toHaveLength(1);
      const ends = await server.snapshot();
      expect(ends).toContainEqual({ transport: "sse", effect: "deny", reason: expect.stringContaining("stolen session reported"), cause: "notified" });
    });
  }

  for (const framework of ["express", "fastify"] as const) {
    it(`${framework}: a chunked download ends with trailers that say why`, async () => {
      const server = servers.get(framework)!;
      const session = `chunked-${framework}`;
      const got = await new Promise<{ status: number; trailer: string | undefined; trailers: NodeJS.Dict<string>; body: string }>((resolve, reject) => {
        const req = get(`${server.url}/download`, { headers: { cookie: `sid=${session}`, te: "trailers" } }, (res) => {
          let body = "";
          let revoked = false;
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
            if (!revoked) {
              revoked = true;
              void other.revoke({ session }, "credential changed");
            }
          });
          res.on("end", () => resolve({ status: res.statusCode!, trailer: res.headers.trailer, trailers: res.trailers, body }));
          res.on("error", reject);
        });
        req.on("error", reject);
      });
      expect(got.status).toBe(200);
      expect(got.trailer).toBe("leash-effect, leash-reason, leash-decision");
      expect(got.body).toContain("tick\n");
      expect(got.trailers["leash-effect"]).toBe("deny");
      expect(got.trailers["leash-reason"]).toContain(`session:${session} was revoked: credential changed`);
      expect(got.trailers["leash-decision"]).toMatch(/./);
      expect(await server.snapshot()).toContainEqual({ transport: "trailer", effect: "deny", reason: expect.stringContaining("credential changed"), cause: "notified" });
    });
  }

  it("hono: a streamed body that is not an event stream is cut (the Fetch API has no trailers)", async () => {
    const server = servers.get("hono")!;
    const session = "cut-hono";
    const res = await fetch(`${server.url}/download`, { headers: { cookie: `sid=${session}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("tick");
    await other.revoke({ session }, "operator ended it");
    const outcome = await (async () => {
      for (;;) {
        const next = await reader.read();
        if (next.done) return "ended";
      }
    })().catch((e: unknown) => `cut: ${String(e)}`);
    expect(outcome).toMatch(/^cut: /);
    expect(await server.snapshot()).toContainEqual({ transport: "abort", effect: "deny", reason: expect.stringContaining("operator ended it"), cause: "notified" });
  });

  it("express + ws: a WebSocket is closed with 1008 and the reason; a revoked session's upgrade is refused with 403", async () => {
    const server = servers.get("express")!;
    const session = "ws-express";
    const url = server.url.replace("http:", "ws:") + "/live";
    const ws = new WebSocket(url, { headers: { cookie: `sid=${session}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once("message", () => resolve());
      ws.once("error", reject);
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    await other.revoke({ session }, "risk engine");
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toContain(`session:${session} was revoked: risk engine`);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(await server.snapshot()).toContainEqual({ transport: "websocket", effect: "deny", reason: expect.stringContaining("risk engine"), cause: "notified" });

    const again = new WebSocket(url, { headers: { cookie: `sid=${session}` } });
    const status = await new Promise<number>((resolve) => again.once("unexpected-response", (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(403);
  });
});
