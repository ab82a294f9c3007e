/**
 * Responses that stay open — server-sent events, chunked streams, WebSockets — held while they
 * are open (`guard.hold`) and ended when the decision that let them through turns to deny or
 * revoke. How each transport tells the client why (docs/guides/http.md, "Streams and WebSockets"):
 *
 * | transport                     | what the client gets                                                      |
 * |-------------------------------|---------------------------------------------------------------------------|
 * | not started                   | the refusal (401/403 problem+json), as if the request had been refused     |
 * | `text/event-stream`           | an event `leash-end` whose data is a problem details document; then the end |
 * | chunked (Node, HTTP/1.1)      | trailers `leash-effect`, `leash-reason`, `leash-decision`; then the end     |
 * | anything else                 | the connection is cut: the body arrives incomplete                         |
 * | WebSocket                     | a close frame 1008 (policy violation) with the reason                      |
 */
import { changeEnds } from "../../guard/holds.js";
import type { Guard, Hold, HoldChange } from "../../guard/types.js";
import { errorRefusal, outcomeOf, refusalOf, type RefusalStyle } from "./responses.js";
import { RouteTable } from "./routes.js";
import type { HttpDecision, HttpGuardOptions, HttpRefusal } from "./types.js";

/** How a held response or socket was ended. */
export type StreamTransport = "refusal" | "sse" | "trailer" | "abort" | "websocket";

/** What `onStreamEnd` is told when a held response or socket is ended. */
export interface StreamEnd {
  /** The id of the decision that let the request through. */
  readonly id: string;
  /** The new decision's reason, as `recheck` words it. */
  readonly reason: string;
  /** The new decision's effect: `deny` or `revoke`. */
  readonly effect: string;
  readonly transport: StreamTransport;
  /** The hold's change: the new decision, the cause (`deadline`, `revocation`, `notified`, ...). */
  readonly change: HoldChange;
}

/** Which allowed requests are held while their response is open (`hold` of the adapter options). */
export type HoldSelector = boolean | readonly string[] | ((leash: HttpDecision) => boolean);

/** The SSE event a held event stream ends with. */
export const SSE_END_EVENT = "leash-end";
/** The trailers a held chunked response ends with. */
export const END_TRAILERS = ["leash-effect", "leash-reason", "leash-decision"] as const;
/** The WebSocket close code a held socket is closed with (RFC 6455: policy violation). */
export const WS_POLICY_VIOLATION = 1008;

/** The parts of a Node `ServerResponse` (express's `res`, fastify's `reply.raw`) a held response uses. */
export interface NodeStreamResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  statusCode: number;
  getHeader(name: string): unknown;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  writeHead(...args: never[]): unknown;
  write(chunk: string): unknown;
  addTrailers(trailers: Record<string, string>): void;
  end(body?: string): unknown;
  destroy(): unknown;
  once(event: "close", listener: () => void): unknown;
  on?(event: "error", listener: () => void): unknown;
}

/** The parts of a WebSocket (the `ws` package's, or the WHATWG one) a held socket uses. */
export interface WebSocketLike {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  on?(event: "close", listener: () => void): unknown;
  addEventListener?(event: "close", listener: () => void): unknown;
}

/**
 * The holds of one adapter: which requests it holds, and how it ends each transport. Built once
 * per middleware from the adapter options.
 */
export class StreamHolds {
  private readonly routes: RouteTable | null;
  private readonly style: RefusalStyle;
  /** Whether any request may be held (`hold` given and not false): when not, an adapter skips `wants`. */
  readonly wanted: boolean;

  constructor(private readonly options: HttpGuardOptions) {
    const h = options.hold;
    this.wanted = h !== undefined && h !== false;
    if (h !== undefined && typeof h !== "boolean" && typeof h !== "function" && !Array.isArray(h)) throw new TypeError('leash/http: options.hold is true, a list of "METHOD /path" patterns, or a function of the decision');
    this.routes = Array.isArray(h) ? new RouteTable(Object.fromEntries(h.map((p) => [p, "hold"]))) : null;
    this.style = { realm: options.realm ?? "leash", explain: options.explain ?? true, acrValues: options.acrValues ?? {} };
  }

  /** Whether the allowed request `method path` is held while its response is open. */
  wants(method: string, path: string, leash: HttpDecision): boolean {
    const h = this.options.hold;
    if (h === undefined || h === false) return false;
    if (h === true) return true;
    if (this.routes !== null) return this.routes.match(method, path) !== null;
    try {
      return (h as (leash: HttpDecision) => boolean)(leash) === true;
    } catch {
      return true; // fail closed: a response the selector cannot place is held
    }
  }

  /**
   * Holds a Node response until it ends: when the decision turns, the response is ended as the
   * module's table says. Declares the trailers of a chunked response when its head is written.
   */
  holdNode(leash: HttpDecision, res: NodeStreamResponse): void {
    declareTrailers(res);
    const hold = this.start(leash, (change) => this.endNode(leash, res, change));
    if (hold !== null) res.once("close", () => hold.release());
  }

  /** A Fetch `Response` whose body is held: it ends (an SSE event, else an error) when the decision turns. */
  holdFetch(leash: HttpDecision, response: Response): Response {
    const body = response.body;
    if (body === null) return response;
    const sse = (response.headers.get("content-type") ?? "").toLowerCase().startsWith("text/event-stream");
    const reader = body.getReader();
    let hold: Hold | null = null;
    let done = false;
    const encoder = new TextEncoder();
    const finish = () => {
      done = true;
      hold?.release();
    };
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        hold = this.start(leash, (change) => {
          if (done) return;
          finish();
          void reader.cancel().catch(() => undefined);
          try {
            if (sse) {
              controller.enqueue(encoder.encode(sseEvent(this.refusal(leash, change))));
              controller.close();
            } else controller.error(new Error(`leash ended the response: ${change.reason}`));
          } catch {
            // The client went away meanwhile.
          }
          this.told(leash, change, sse ? "sse" : "abort");
        });
      },
      pull: async (controller) => {
        try {
          const next = await reader.read();
          if (done) return;
          if (next.done) {
            finish();
            controller.close();
          } else controller.enqueue(next.value);
        } catch (e) {
          if (done) return;
          finish();
          controller.error(e);
        }
      },
      cancel: async (why) => {
        finish();
        await reader.cancel(why).catch(() => undefined);
      },
    });
    return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
  }

  /** Holds a WebSocket until it closes: when the decision turns, it is closed with 1008 and the reason. */
  holdSocket(leash: HttpDecision, socket: WebSocketLike): Hold | null {
    const hold = this.start(leash, (change) => {
      if (socket.readyState >= 2) return; // closing or closed already
      try {
        socket.close(WS_POLICY_VIOLATION, closeReason(change.reason));
      } catch {
        // A socket that cannot be closed politely is the server's to drop.
      }
      this.told(leash, change, "websocket");
    });
    if (hold === null) return null;
    const release = () => hold.release();
    if (typeof socket.addEventListener === "function") socket.addEventListener("close", release);
    else if (typeof socket.on === "function") socket.on("close", release);
    return hold;
  }

  private start(leash: HttpDecision, end: (change: HoldChange) => void): Hold | null {
    let hold: Hold | null = null;
    let ended = false;
    try {
      hold = this.options.guard.hold(leash.decision, leash.request, {
        onChange: (change) => {
          if (ended || !changeEnds(change)) return;
          ended = true;
          hold?.release();
          end(change);
        },
      });
    } catch {
      return null; // a Guard without holds: the response runs to its end
    }
    return hold;
  }

  private endNode(leash: HttpDecision, res: NodeStreamResponse, change: HoldChange): void {
    if (res.writableEnded || res.destroyed) return;
    // A handler that writes on after the end gets an error event: it must not crash the server.
    res.on?.("error", () => {});
    const refusal = this.refusal(leash, change);
    let transport: StreamTransport;
    try {
      if (!res.headersSent) {
        res.statusCode = refusal.status;
        for (const [k, v] of Object.entries(refusal.headers)) res.setHeader(k, v);
        res.setHeader("content-length", Buffer.byteLength(refusal.body));
        res.end(refusal.body);
        transport = "refusal";
      } else if (String(res.getHeader("content-type") ?? "").toLowerCase().startsWith("text/event-stream")) {
        res.write(sseEvent(refusal));
        res.end();
        transport = "sse";
      } else if (res.getHeader("trailer") !== undefined) {
        res.addTrailers(trailersOf(leash, change));
        res.end();
        transport = "trailer";
      } else {
        res.destroy();
        transport = "abort";
      }
    } catch {
      res.destroy();
      transport = "abort";
    }
    this.told(leash, change, transport);
  }

  /** The problem document a turned decision is explained with (what a refusal of it would send). */
  private refusal(leash: HttpDecision, change: HoldChange): HttpRefusal {
    try {
      const outcome = outcomeOf(change.decision, this.options.guard.policy);
      if (outcome !== "allow") return refusalOf(change.decision, outcome, leash.id, this.style);
    } catch {
      // A decision that cannot be explained is still a refusal.
    }
    return errorRefusal("R337", change.reason, this.style);
  }

  private told(leash: HttpDecision, change: HoldChange, transport: StreamTransport): void {
    const hook = this.options.onStreamEnd;
    if (hook === undefined) return;
    try {
      hook(Object.freeze({ id: leash.id, reason: change.reason, effect: change.decision.effect, transport, change }));
    } catch {
      // A log hook never changes what was ended.
    }
  }
}

/**
 * Holds a WebSocket that `leash` let through (the decision of its upgrade request: `decisionOf(req)`,
 * `request.leash`), closing it with 1008 and the reason when the decision turns to deny or revoke.
 * Returns the hold (released when the socket closes), or null when the Guard cannot hold.
 *
 * ```ts
 * wss.on("connection", (socket, req) => holdWebSocket({ guard }, decisionOf(req)!, socket));
 * ```
 */
export function holdWebSocket(options: Pick<HttpGuardOptions, "guard" | "onStreamEnd" | "realm" | "explain">, leash: HttpDecision, socket: WebSocketLike): Hold | null {
  return new StreamHolds({ ...options, hold: true }).holdSocket(leash, socket);
}

/** An SSE event carrying a refusal's problem document (one `data:` line: JSON has no raw newline). */
function sseEvent(refusal: HttpRefusal): string {
  return `event: ${SSE_END_EVENT}\ndata: ${refusal.body}\n\n`;
}

function trailersOf(leash: HttpDecision, change: HoldChange): Record<string, string> {
  return { "leash-effect": change.decision.effect, "leash-reason": headerText(change.reason, 1024), "leash-decision": leash.id };
}

/** A WebSocket close reason: at most 123 bytes of UTF-8 (RFC 6455). */
function closeReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

/** Printable ASCII only, at most `max` characters (a header value stays one line). */
function headerText(s: string, max: number): string {
  let out = "";
  for (const ch of s.slice(0, max)) {
    const c = ch.codePointAt(0)!;
    out += c >= 0x20 && c < 0x7f ? ch : "?";
  }
  return out;
}

/**
 * Adds the `Trailer` header when the response's head is written without a length (a chunked
 * HTTP/1.1 body): Node refuses trailers on any other body, so they are declared only then.
 */
function declareTrailers(res: NodeStreamResponse): void {
  if (res.headersSent) return;
  const write = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
  (res as unknown as { writeHead: (...args: unknown[]) => unknown }).writeHead = (...args: unknown[]) => {
    try {
      const headers = args.find((a, i) => i > 0 && a !== null && typeof a === "object" && !Array.isArray(a)) as Record<string, unknown> | undefined;
      const has = (name: string) => res.getHeader(name) !== undefined || (headers !== undefined && Object.keys(headers).some((k) => k.toLowerCase() === name));
      const type = String(res.getHeader("content-type") ?? headerValue(headers, "content-type") ?? "").toLowerCase();
      const req = (res as { req?: { httpVersion?: string; method?: string } }).req;
      const status = typeof args[0] === "number" ? args[0] : res.statusCode;
      const bodyless = req?.method === "HEAD" || status === 204 || status === 304 || status < 200;
      if (!bodyless && req?.httpVersion === "1.1" && !has("content-length") && !has("transfer-encoding") && !has("trailer") && !type.startsWith("text/event-stream")) res.setHeader("trailer", END_TRAILERS.join(", "));
    } catch {
      // The head is written as the handler asked.
    }
    return write(...args);
  };
}

function headerValue(headers: Record<string, unknown> | undefined, name: string): unknown {
  if (headers === undefined) return undefined;
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return headers[k];
  return undefined;
}
