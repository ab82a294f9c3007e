/**
 * docs/guides/http.md, "Streams and WebSockets" and "Security events (CAEP)": the page's blocks
 * run on loopback servers and end what they hold as the page says.
 */
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { StreamEnd } from "../../src/adapters/http/index.js";
import type { Guard } from "../../src/guard/index.js";
import { docModule, inScratchDir } from "./doc-blocks.js";
import { closeServer, whenListening } from "./loopback.js";

const PAGE = "docs/guides/http.md";
let scratch: ReturnType<typeof inScratchDir>;
beforeAll(() => void (scratch = inScratchDir()));
afterAll(() => scratch.restore());

const listen = whenListening;
const stop = closeServer;

describe("docs/guides/http.md: streams", () => {
  it("streams-app.ts: a revoked session's price stream ends with a leash-end event, its WebSocket with 1008", async () => {
    const m = (await import(docModule(PAGE, "streams-app.ts"))) as { app: import("express").Express; guard: Guard; ended: StreamEnd[]; acceptWebSockets(server: Server): void };
    const server = m.app.listen(0, "127.0.0.1");
    m.acceptWebSockets(server);
    const url = await listen(server);
    try {
      const res = await fetch(`${url}/prices`, { headers: { cookie: "sid=s-ana" } });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = decoder.decode((await reader.read()).value);
      expect(text).toContain('data: {"tea":4.2}');

      const ws = new WebSocket(`${url.replace("http:", "ws:")}/live`, { headers: { cookie: "sid=s-ana" } });
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));

      await m.guard.revoke({ session: "s-ana" }, "stolen session reported");
      for (let next = await reader.read(); !next.done; next = await reader.read()) text += decoder.decode(next.value);
      const event = /event: leash-end\ndata: (.*)\n\n$/.exec(text);
      expect(event).not.toBeNull();
      expect(JSON.parse(event![1]!)).toMatchObject({ title: "Forbidden", status: 403, effect: "deny", detail: "session:s-ana was revoked: stolen session reported" });
      expect(await closed).toEqual({ code: 1008, reason: "allow became deny: session:s-ana was revoked: stolen session reported" });
      expect(m.ended.map((e) => [e.transport, e.effect, e.change.cause])).toEqual([
        ["sse", "deny", "revocation"],
        ["websocket", "deny", "revocation"],
      ]);
      // A new request of the revoked session is refused: an EventSource's reconnection stops there.
      expect((await fetch(`${url}/prices`, { headers: { cookie: "sid=s-ana" } })).status).toBe(403);
    } finally {
      await stop(server);
      await m.guard.close();
    }
  });
});
