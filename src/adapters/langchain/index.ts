/**
 * `leash/langchain`: every tool call of a LangChain.js agent decided by a policy, as agent
 * middleware (`createMiddleware({ wrapToolCall })`).
 *
 * An allowed call runs the tool. A refused one does not: the model gets a `ToolMessage` with
 * `status: "error"`, the reason as content and the decision in its `artifact` under
 * `"leash/decision"`. A challenge is put to `approve` when given (approving reports the rule's
 * `satisfied by` signal and the call is decided again), and is refused carrying its obligation
 * when not. An unknown or errored decision is a refusal, never an approval.
 *
 * ```ts
 * const agent = createAgent({ model, tools, middleware: [leashMiddleware({ guard, mapping, principal, session: (r) => r.runtime.context.userId })] });
 * ```
 * @packageDocumentation
 */
import { createMiddleware, ToolMessage } from "langchain";
import type { Guard } from "../../guard/types.js";
import type { Principal } from "../../runtime/types.js";
import { createToolGate, type AskUser, type Challenge, type SessionEnd, type ToolGate, type Verdict } from "../tools/gate.js";
import type { ToolMapping } from "../tools/mapping.js";
import { DECISION_META_KEY, wireDecision } from "../tools/wire.js";

export * from "../tools/index.js";

/** The parts of LangChain's tool call request the middleware reads. */
export interface LangChainToolRequest {
  readonly toolCall: { readonly name: string; readonly args: unknown; readonly id?: string };
  readonly runtime?: { readonly configurable?: Record<string, unknown>; readonly context?: unknown };
}

export interface LeashMiddlewareOptions {
  /** The gate to decide with; or give `guard` and `mapping`. */
  readonly gate?: ToolGate;
  readonly guard?: Guard;
  readonly mapping?: ToolMapping;
  /** Who calls the tools. */
  readonly principal: Principal | ((request: LangChainToolRequest) => Principal);
  /** The session key; default the run's `thread_id`, else `"default"` (every run one session). */
  readonly session?: string | ((request: LangChainToolRequest) => string);
  /** Asks a human to approve a challenged call; `true` approves. Without it a challenge is refused. */
  readonly approve?: (challenge: Challenge) => Promise<boolean>;
  readonly onToolCall?: (verdict: Verdict) => void;
  readonly onSessionEnd?: (end: SessionEnd) => void;
}

/** The middleware: pass it in `createAgent({ middleware: [...] })`. */
export function leashMiddleware(options: LeashMiddlewareOptions) {
  const gate = options.gate ?? gateOf(options);
  const approve = options.approve;
  const ask: AskUser | undefined = approve === undefined ? undefined : async (c) => ((await approve(c)) === true ? "accept" : "decline");
  const sessionOf = (r: LangChainToolRequest): string => {
    if (typeof options.session === "function") return options.session(r);
    if (typeof options.session === "string") return options.session;
    const thread = r.runtime?.configurable?.thread_id;
    return typeof thread === "string" && thread !== "" ? thread : "default";
  };
  return createMiddleware({
    name: "leash",
    wrapToolCall: async (request, handler) => {
      const r = request as unknown as LangChainToolRequest;
      const principal = typeof options.principal === "function" ? options.principal(r) : options.principal;
      const verdict = await gate.decide({ name: r.toolCall.name, arguments: r.toolCall.args }, { session: sessionOf(r), principal, client: { name: "langchain" } }, ask);
      if (verdict.allowed) return handler(request);
      return new ToolMessage({
        content: verdict.message,
        tool_call_id: r.toolCall.id ?? "",
        name: r.toolCall.name,
        status: "error",
        artifact: { [DECISION_META_KEY]: wireDecision(verdict) },
      });
    },
  });
}

function gateOf(options: LeashMiddlewareOptions): ToolGate {
  if (options.guard === undefined || options.mapping === undefined) throw new TypeError("leashMiddleware: give a gate, or a guard and a mapping");
  return createToolGate({
    guard: options.guard,
    mapping: options.mapping,
    ...(options.onToolCall ? { onToolCall: options.onToolCall } : {}),
    ...(options.onSessionEnd ? { onSessionEnd: options.onSessionEnd } : {}),
  });
}
