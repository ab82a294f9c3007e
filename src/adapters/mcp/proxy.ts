/**
 * The MCP proxy: a message-level pipe between a client's transport and a server's, deciding every
 * `tools/call` on the way. Everything else — initialisation, resources, prompts, notifications,
 * the server's own requests to the client — passes through unchanged, so any client and any
 * server work, whatever protocol version and capabilities they speak. A refused call is answered
 * by the proxy and never reaches the server.
 */
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Guard } from "../../guard/types.js";
import type { Principal } from "../../runtime/types.js";
import { createToolGate, type AskUser, type SessionEnd, type ToolGate, type Verdict } from "../tools/gate.js";
import type { CallScope, ToolMapping } from "../tools/mapping.js";
import { refusedCallResult } from "../tools/wire.js";
import { canElicit, elicitationAnswer, elicitationParams } from "./elicit.js";

export interface McpProxyOptions {
  /** The gate to decide with; or give `guard` and `mapping` and the proxy makes one. */
  readonly gate?: ToolGate;
  readonly guard?: Guard;
  readonly mapping?: ToolMapping;
  /** Hide from `tools/list` the tools the principal could never be allowed (default false). */
  readonly filterTools?: boolean;
  /** The principal of every call, instead of the client's self-description. */
  readonly principal?: Principal;
  /** Put challenges to the user as elicitation requests when the client supports them (default true). */
  readonly elicit?: boolean;
  readonly challengeTimeoutMs?: number;
  readonly onToolCall?: (verdict: Verdict) => void;
  readonly onSessionEnd?: (end: SessionEnd) => void;
  /** Transport errors, for the host's log. */
  readonly onError?: (error: Error, side: "client" | "server") => void;
}

/** One client's connection through the proxy to its server. */
export interface ProxyConnection {
  readonly gate: ToolGate;
  /** The session key of this connection (the upstream transport's session id, or a fresh id). */
  readonly session: string;
  /** Resolves when either side has closed (and the other has been closed too). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

type Id = string | number;
type Message = Record<string, unknown> & { readonly jsonrpc: "2.0" };

const isRequest = (m: Message): boolean => typeof m.method === "string" && "id" in m;
const isResponse = (m: Message): boolean => !("method" in m) && "id" in m;

/** Connects `upstream` (the transport facing the client) to `downstream` (the one facing the server) and starts both. */
export async function connectMcpProxy(upstream: Transport, downstream: Transport, options: McpProxyOptions): Promise<ProxyConnection> {
  const gate = options.gate ?? makeGate(options);
  const fallbackSession = `conn-${globalThis.crypto.randomUUID()}`;
  const session = () => upstream.sessionId ?? fallbackSession;
  const elicit = options.elicit ?? true;

  let clientInfo: { name?: string; version?: string } | undefined;
  let clientCapabilities: unknown;
  let initializeId: Id | undefined;
  const listIds = new Set<Id>();
  /** Upstream requests the server is answering, newest last: server messages are related to the newest. */
  const inflight: Id[] = [];
  const elicitations = new Map<Id, (response: Message) => void>();
  let elicitCounter = 0;
  /** tools/call requests being decided, and those of them the client cancelled meanwhile. */
  const deciding = new Set<Id>();
  const cancelled = new Set<Id>();

  const report = (side: "client" | "server") => (e: unknown) => options.onError?.(e instanceof Error ? e : new Error(String(e)), side);
  const sendUp = (m: Message, relatedRequestId?: Id) =>
    upstream.send(m as unknown as JSONRPCMessage, (relatedRequestId !== undefined ? { relatedRequestId } : undefined) as TransportSendOptions | undefined).catch(report("client"));
  const sendDown = (m: Message) => downstream.send(m as unknown as JSONRPCMessage);
  const settle = (id: Id) => {
    const at = inflight.lastIndexOf(id);
    if (at >= 0) inflight.splice(at, 1);
  };

  const forward = async (m: Message) => {
    try {
      await sendDown(m);
    } catch (e) {
      report("server")(e);
      if (isRequest(m)) {
        settle(m.id as Id);
        await sendUp({ jsonrpc: "2.0", id: m.id, error: { code: -32603, message: `leash mcp-proxy: the server cannot be reached: ${e instanceof Error ? e.message : String(e)}` } }, m.id as Id);
      }
    }
  };

  const askFor = (callId: Id): AskUser | undefined => {
    if (!elicit || !canElicit(clientCapabilities)) return undefined;
    return (challenge) =>
      new Promise((resolve) => {
        const id = `leash-elicit-${++elicitCounter}`;
        const done = (answer: "accept" | "decline" | "cancel") => {
          elicitations.delete(id);
          resolve(answer);
        };
        elicitations.set(id, (response) => done("result" in response ? elicitationAnswer(response.result) : "cancel"));
        challenge.signal.addEventListener("abort", () => done("cancel"), { once: true });
        void sendUp({ jsonrpc: "2.0", id, method: "elicitation/create", params: elicitationParams(challenge) }, callId);
      });
  };

  const scope = (): CallScope => ({
    session: session(),
    ...(clientInfo ? { client: clientInfo } : {}),
    ...(options.principal ? { principal: options.principal } : {}),
  });

  const decideCall = async (m: Message) => {
    const id = m.id as Id;
    const params = (m.params ?? {}) as { name?: unknown; arguments?: unknown };
    deciding.add(id);
    let verdict: Verdict;
    try {
      verdict = await gate.decide({ name: params.name as string, arguments: params.arguments }, scope(), askFor(id));
    } catch (e) {
      // A gate never throws; if a custom one does, the call is refused with an answer, never left hanging or run.
      await sendUp({ jsonrpc: "2.0", id, error: { code: -32603, message: `leash mcp-proxy could not decide the call: ${e instanceof Error ? e.message : String(e)}` } }, id);
      return;
    } finally {
      deciding.delete(id);
    }
    if (cancelled.delete(id)) return;
    if (verdict.allowed) {
      inflight.push(id);
      await forward(m);
    } else await sendUp({ jsonrpc: "2.0", id, result: refusedCallResult(verdict) as unknown as Record<string, unknown> }, id);
  };

  upstream.onmessage = (raw) => {
    const m = raw as unknown as Message;
    if (isResponse(m)) {
      const waiting = elicitations.get(m.id as Id);
      if (waiting !== undefined) waiting(m);
      else void forward(m); // the client's answer to the server's own request
      return;
    }
    if (isRequest(m)) {
      const id = m.id as Id;
      if (m.method === "tools/call") {
        void decideCall(m).catch(report("client"));
        return;
      }
      if (m.method === "initialize") {
        const p = (m.params ?? {}) as { clientInfo?: { name?: unknown; version?: unknown }; capabilities?: unknown };
        clientInfo = {
          ...(typeof p.clientInfo?.name === "string" ? { name: p.clientInfo.name } : {}),
          ...(typeof p.clientInfo?.version === "string" ? { version: p.clientInfo.version } : {}),
        };
        clientCapabilities = p.capabilities;
        initializeId = id;
      }
      if (m.method === "tools/list" && options.filterTools) listIds.add(id);
      inflight.push(id);
    } else if (m.method === "notifications/cancelled") {
      const target = (m.params as { requestId?: Id } | undefined)?.requestId;
      if (target !== undefined && deciding.has(target)) cancelled.add(target);
    }
    void forward(m);
  };

  downstream.onmessage = (raw) => {
    let m = raw as unknown as Message;
    if (isResponse(m)) {
      const id = m.id as Id;
      settle(id);
      if (id === initializeId && "result" in m) {
        const version = (m.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
        if (typeof version === "string") {
          downstream.setProtocolVersion?.(version);
          upstream.setProtocolVersion?.(version);
        }
      }
      if (listIds.delete(id) && "result" in m) {
        const result = m.result as { tools?: unknown } & Record<string, unknown>;
        if (Array.isArray(result.tools)) m = { ...m, result: { ...result, tools: gate.visibleTools(result.tools as { name: string }[], scope()) } };
      }
      void sendUp(m, id);
      return;
    }
    void sendUp(m, inflight[inflight.length - 1]);
  };

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing = false;
  const closeBoth = async () => {
    if (closing) return;
    closing = true;
    for (const resolve of elicitations.values()) resolve({ jsonrpc: "2.0", error: { code: -32000, message: "closed" } });
    await Promise.allSettled([upstream.close(), downstream.close()]);
    resolveClosed();
  };
  upstream.onclose = () => void closeBoth();
  downstream.onclose = () => void closeBoth();
  upstream.onerror = report("client");
  downstream.onerror = report("server");

  await downstream.start();
  await upstream.start();
  return { gate, get session() { return session(); }, closed, close: closeBoth };
}

function makeGate(options: McpProxyOptions): ToolGate {
  if (options.guard === undefined || options.mapping === undefined) throw new TypeError("connectMcpProxy: give a gate, or a guard and a mapping");
  return createToolGate({
    guard: options.guard,
    mapping: options.mapping,
    ...(options.onToolCall ? { onToolCall: options.onToolCall } : {}),
    ...(options.onSessionEnd ? { onSessionEnd: options.onSessionEnd } : {}),
    ...(options.challengeTimeoutMs !== undefined ? { challengeTimeoutMs: options.challengeTimeoutMs } : {}),
  });
}
