/**
 * Guarding a server built with `@modelcontextprotocol/sdk`, in process.
 *
 * The SDK's `McpServer` keeps its `tools/call` handler private, so the guard sits one level down:
 * it wraps the low-level `Server`'s **request handler** for `tools/call` (and, when asked, for
 * `tools/list`). `guardServer` replaces the server's `setRequestHandler` with one that wraps those
 * two handlers as they are installed — `McpServer` installs them when its first tool is registered,
 * a low-level server when its author does — so it must run before the first tool is registered.
 * Every `tools/call` is then decided before the SDK validates the arguments or runs the tool;
 * wrapping registration instead would have missed tools registered through other paths
 * (`registerTool`, `tool`, `registerToolTask`, low-level handlers).
 */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ElicitResultSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Guard } from "../../guard/types.js";
import type { Principal } from "../../runtime/types.js";
import { createToolGate, type AskUser, type SessionEnd, type ToolGate, type Verdict } from "../tools/gate.js";
import type { CallScope, ToolMapping } from "../tools/mapping.js";
import { refusedCallResult } from "../tools/wire.js";
import { canElicit, elicitationAnswer, elicitationParams } from "./elicit.js";

/** What a request handler receives besides the request (the parts the guard reads). */
export interface HandlerExtra {
  readonly sessionId?: string;
  readonly authInfo?: { readonly clientId?: string; readonly scopes?: readonly string[]; readonly expiresAt?: number; readonly extra?: Record<string, unknown> };
  readonly signal?: AbortSignal;
  readonly sendRequest?: (request: { method: string; params?: Record<string, unknown> }, schema: typeof ElicitResultSchema, options?: { signal?: AbortSignal; timeout?: number }) => Promise<unknown>;
}

export interface GuardServerOptions {
  readonly guard: Guard;
  readonly mapping: ToolMapping;
  /** Hide from `tools/list` the tools the client's principal could never be allowed (default false). */
  readonly filterTools?: boolean;
  /** The principal of a request, when the host knows better than the client's self-description (e.g. from `authInfo`). */
  readonly principal?: (extra: HandlerExtra) => Principal | undefined;
  /** Put challenges to the user as elicitation requests when the client supports them (default true). */
  readonly elicit?: boolean;
  readonly onToolCall?: (verdict: Verdict) => void;
  readonly onSessionEnd?: (end: SessionEnd) => void;
  readonly challengeTimeoutMs?: number;
}

/** A server with the guard in front of its tools. */
export interface GuardedServer {
  /** The gate deciding the server's calls (shared when several servers were given one). */
  readonly gate: ToolGate;
}

type LowLevel = Pick<Server, "setRequestHandler" | "assertCanSetRequestHandler" | "getClientCapabilities" | "getClientVersion" | "transport">;
type Handler = (request: { params?: Record<string, unknown> } & Record<string, unknown>, extra: HandlerExtra) => unknown;

const guarded = new WeakSet<object>();
const connectionIds = new WeakMap<object, string>();

/**
 * Puts the guard in front of every `tools/call` of `server` (an `McpServer` or a low-level
 * `Server`). Call it before registering tools. Pass `{ gate }` to share one gate (and its ended
 * sessions) between the servers of several sessions.
 */
export function guardServer(server: McpServer | Server, options: GuardServerOptions | (Omit<GuardServerOptions, "guard" | "mapping"> & { readonly gate: ToolGate })): GuardedServer {
  const low = lowLevelOf(server);
  if (guarded.has(low)) throw new TypeError("guardServer: this server is guarded already");
  if (hasHandler(low, "tools/call")) {
    throw new TypeError("guardServer: the server already has a tools/call handler (tools were registered before guardServer was called); call guardServer first, so that no call can run unguarded");
  }
  const gate =
    "gate" in options
      ? options.gate
      : createToolGate({
          guard: options.guard,
          mapping: options.mapping,
          ...(options.onToolCall ? { onToolCall: options.onToolCall } : {}),
          ...(options.onSessionEnd ? { onSessionEnd: options.onSessionEnd } : {}),
          ...(options.challengeTimeoutMs !== undefined ? { challengeTimeoutMs: options.challengeTimeoutMs } : {}),
        });
  const elicit = options.elicit ?? true;
  const timeout = options.challengeTimeoutMs ?? 300_000;

  const scopeOf = (extra: HandlerExtra): CallScope => {
    const client = low.getClientVersion();
    const auth = extra.authInfo;
    const principal = options.principal?.(extra);
    return {
      session: extra.sessionId ?? connectionId(low),
      ...(client ? { client: { name: client.name, version: client.version } } : {}),
      ...(auth ? { auth: { clientId: auth.clientId, scopes: auth.scopes, expiresAt: auth.expiresAt, extra: auth.extra } } : {}),
      ...(principal ? { principal } : {}),
    };
  };

  const askFor = (extra: HandlerExtra): AskUser | undefined => {
    if (!elicit || !canElicit(low.getClientCapabilities()) || extra.sendRequest === undefined) return undefined;
    const send = extra.sendRequest;
    return async (challenge) => elicitationAnswer(await send({ method: "elicitation/create", params: elicitationParams(challenge) }, ElicitResultSchema, { signal: challenge.signal, timeout }));
  };

  const guardCall = (handler: Handler): Handler => async (request, extra) => {
    const params = request.params ?? {};
    const verdict = await gate.decide({ name: params.name as string, arguments: params.arguments }, scopeOf(extra), askFor(extra));
    if (!verdict.allowed) return refusedCallResult(verdict);
    const result = await handler(request, extra);
    // A session that ended while the tool ran gets the reason, not the result.
    const cut = gate.cutOff(verdict);
    return cut !== null ? refusedCallResult(cut) : result;
  };

  const filterList = (handler: Handler): Handler => async (request, extra) => {
    const result = (await handler(request, extra)) as { tools?: unknown } & Record<string, unknown>;
    if (!Array.isArray(result?.tools)) return result;
    return { ...result, tools: gate.visibleTools(result.tools as { name: string }[], scopeOf(extra)) };
  };

  const install = low.setRequestHandler;
  const replacement = function (this: unknown, schema: unknown, handler: Handler) {
    const method = methodOf(schema);
    const wrapped = method === "tools/call" ? guardCall(handler) : method === "tools/list" && options.filterTools ? filterList(handler) : handler;
    return (install as unknown as (s: unknown, h: Handler) => void).call(low, schema, wrapped);
  };
  Object.defineProperty(low, "setRequestHandler", { value: replacement, configurable: true, writable: true });
  guarded.add(low);
  return { gate };
}

function lowLevelOf(server: McpServer | Server): LowLevel {
  const inner = (server as { server?: unknown }).server;
  const low = (inner !== undefined && inner !== null && typeof inner === "object" ? inner : server) as LowLevel;
  if (typeof low.setRequestHandler !== "function" || typeof low.assertCanSetRequestHandler !== "function") {
    throw new TypeError("guardServer: expected an McpServer or a Server from @modelcontextprotocol/sdk");
  }
  return low;
}

function hasHandler(low: LowLevel, method: string): boolean {
  try {
    low.assertCanSetRequestHandler(method);
    return false;
  } catch {
    return true;
  }
}

/** The `method` literal of a request schema (zod 3 and 4 both expose `shape.method.value`). */
function methodOf(schema: unknown): string | undefined {
  try {
    const v = (schema as { shape?: { method?: { value?: unknown } } }).shape?.method?.value;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A stable id for the server's current connection: the session key of transports without sessions (stdio). */
function connectionId(low: LowLevel): string {
  const transport = low.transport as object | undefined;
  const owner = transport ?? low;
  let id = connectionIds.get(owner);
  if (id === undefined) {
    id = `conn-${globalThis.crypto.randomUUID()}`;
    connectionIds.set(owner, id);
  }
  return id;
}
