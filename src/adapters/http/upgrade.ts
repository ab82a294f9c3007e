import type { IncomingMessage } from "node:http";
import { attach } from "./attached.js";
import { cookieValue } from "./cookies.js";
import { headerOf } from "./express.js";
import { HttpGate } from "./gate.js";
import { StreamHolds, type WebSocketLike } from "./streams.js";
import type { HttpDecision, HttpGuardOptions, HttpRefusal } from "./types.js";

/** The parts of the socket of an `upgrade` event a refusal is written to. */
export interface UpgradeSocketLike {
  write(data: string): unknown;
  destroy(): unknown;
}

/** Decides WebSocket upgrades of a Node server (`server.on("upgrade", ...)`) and holds the sockets it lets through. */
export interface UpgradeGuard {
  /**
   * Decides the upgrade request. Allowed: its decision (also `decisionOf(req)`); refused: the
   * refusal is written to the socket as an HTTP response (401/403/429 problem+json), the socket is
   * destroyed, and the answer is null. Not guarded (`skip`): undefined.
   */
  check(req: IncomingMessage, socket: UpgradeSocketLike): Promise<HttpDecision | null | undefined>;
  /** Holds the accepted socket: closed with 1008 and the reason when the decision turns to deny or revoke (nothing for undefined: a skipped request). */
  hold(leash: HttpDecision | undefined, socket: WebSocketLike): void;
}

/**
 * A Guard for WebSocket upgrades on a Node `http` server (express and any server whose upgrades go
 * through the `upgrade` event, such as the `ws` package with `noServer: true`). The request is mapped
 * as the HTTP adapters map one (`routes`, `action`, `principal`, `session` ...).
 *
 * ```ts
 * const upgrades = guardUpgrade({ guard, routes: { "GET /live": "feed.watch" } });
 * server.on("upgrade", async (req, socket, head) => {
 *   const leash = await upgrades.check(req, socket);
 *   if (leash !== null) wss.handleUpgrade(req, socket, head, (ws) => upgrades.hold(leash, ws));
 * });
 * ```
 */
export function guardUpgrade(options: HttpGuardOptions): UpgradeGuard {
  const gate = new HttpGate(options);
  const holds = new StreamHolds({ ...options, hold: true });
  return {
    async check(req, socket) {
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const result = await gate.check({
        method: (req.method ?? "GET").toUpperCase(),
        path: q < 0 ? url : url.slice(0, q),
        url,
        header: (name) => headerOf(req.headers[name.toLowerCase()]),
        cookie: (name) => cookieValue(headerOf(req.headers.cookie), name),
        ip: req.socket?.remoteAddress,
        body: undefined,
        raw: req,
      });
      if (result.kind === "refuse") {
        refuseUpgrade(socket, result.refusal);
        return null;
      }
      if (result.kind === "skip") return undefined;
      attach(req, result.leash);
      return result.leash;
    },
    hold(leash, socket) {
      if (leash !== undefined) holds.holdSocket(leash, socket);
    },
  };
}

/** Writes a refusal as the HTTP response to an upgrade request and closes the socket. */
function refuseUpgrade(socket: UpgradeSocketLike, refusal: HttpRefusal): void {
  const lines = [`HTTP/1.1 ${refusal.status} ${STATUS_TEXT[refusal.status] ?? "Forbidden"}`, "connection: close", `content-length: ${Buffer.byteLength(refusal.body)}`];
  for (const [k, v] of Object.entries(refusal.headers)) for (const one of typeof v === "string" ? [v] : v) lines.push(`${k}: ${one}`);
  try {
    socket.write(`${lines.join("\r\n")}\r\n\r\n${refusal.body}`);
  } finally {
    socket.destroy();
  }
}

const STATUS_TEXT: Readonly<Record<number, string>> = { 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests" };
