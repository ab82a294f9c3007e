/**
 * The proxy served over Streamable HTTP: `http://HOST:PORT/mcp`, one upstream session per MCP
 * session id, each connected to a downstream of its own (a fresh server process, or a session on
 * a downstream HTTP server). Host headers are checked (DNS-rebinding protection).
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { AddressInfo } from "node:net";
import { connectMcpProxy, type McpProxyOptions, type ProxyConnection } from "./proxy.js";

export interface ServeMcpProxyOptions extends McpProxyOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: any free port). */
  readonly port?: number;
  /** Makes the transport to the server for a new session (spawns the server, or opens its URL). */
  readonly downstream: () => Transport | Promise<Transport>;
}

/** A listening proxy. */
export interface McpProxyHttp {
  /** `http://HOST:PORT/mcp`. */
  readonly url: string;
  readonly sessions: ReadonlyMap<string, ProxyConnection>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const PATH = "/mcp";

export async function serveMcpProxyHttp(options: ServeMcpProxyOptions): Promise<McpProxyHttp> {
  const { StreamableHTTPServerTransport } = await import("@modelcontextprotocol/sdk/server/streamableHttp.js");
  const host = options.host ?? "127.0.0.1";
  const transports = new Map<string, InstanceType<typeof StreamableHTTPServerTransport>>();
  const connections = new Map<string, ProxyConnection>();
  let allowedHosts: string[] = [];

  const reply = (res: ServerResponse, status: number, message: string) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message } }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? "").split("?")[0] !== PATH) return reply(res, 404, `not found: the proxy serves ${PATH}`);
    const sessionId = req.headers["mcp-session-id"];
    const body = req.method === "POST" ? await readJson(req) : undefined;
    if (body instanceof Error) return reply(res, 400, body.message);
    if (typeof sessionId === "string") {
      const t = transports.get(sessionId);
      if (t === undefined) return reply(res, 404, "unknown or ended session");
      return t.handleRequest(req, res, body);
    }
    if (req.method !== "POST" || !isInitialize(body)) return reply(res, 400, "no session: start with an initialize request");
    // Checked before a server is started for the session (the transport checks every request again).
    if (!allowedHosts.includes(req.headers.host ?? "")) return reply(res, 403, `invalid Host header ${JSON.stringify(req.headers.host ?? "")}`);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => globalThis.crypto.randomUUID(),
      enableDnsRebindingProtection: true,
      allowedHosts,
      onsessioninitialized: (id) => void transports.set(id, transport),
    });
    const downstream = await options.downstream();
    const connection = await connectMcpProxy(transport, downstream, options);
    void connection.closed.then(() => {
      for (const [id, t] of transports) if (t === transport) transports.delete(id);
      for (const [id, c] of connections) if (c === connection) connections.delete(id);
    });
    await transport.handleRequest(req, res, body);
    // An initialisation the transport refused leaves no session: its server is stopped at once.
    if (transport.sessionId !== undefined) connections.set(transport.sessionId, connection);
    else await connection.close();
  };

  const server: HttpServer = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      options.onError?.(e instanceof Error ? e : new Error(String(e)), "client");
      if (!res.headersSent) reply(res, 500, "the proxy failed");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  allowedHosts = isLoopback(host) ? [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`] : [`${shown}:${port}`];
  return {
    url: `http://${shown}:${port}${PATH}`,
    sessions: connections,
    async close() {
      await Promise.allSettled([...connections.values()].map((c) => c.close()));
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // open event streams would otherwise hold the close
      await stopped;
    },
  };
}

function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost" || host === "::1";
}

function isInitialize(body: unknown): boolean {
  const one = (m: unknown) => m !== null && typeof m === "object" && (m as { method?: unknown }).method === "initialize";
  return Array.isArray(body) ? body.some(one) : one(body);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(new Error(`the request body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
      } catch {
        resolve(new Error("the request body is not JSON"));
      }
    });
    req.on("error", (e) => resolve(e));
  });
}
