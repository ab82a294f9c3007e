/**
 * `leash/ai-sdk`: every tool call of the Vercel AI SDK decided by a policy, through the SDK's tool
 * approval hook.
 *
 * `guardTools(tools, options)` returns the same tools with `needsApproval` and `execute` wrapped:
 *
 * - `needsApproval` decides the call. A challenge asks for approval (the SDK emits a
 *   `tool-approval-request`); an allow needs none (unless the tool's own `needsApproval` asks);
 *   a deny needs none either — `execute` refuses it.
 * - `execute` runs the tool only when the call was allowed, or when the approval the SDK replays
 *   answers a challenge: the approval is reported as the rule's `satisfied by` signal and the call
 *   is decided again. Anything else — a deny, a revoke, an unknown call, an error — throws
 *   `ToolCallRefused` and the tool never runs: an unknown or errored decision is never an approval.
 *
 * ```ts
 * const tools = guardTools({ read_file, write_file }, { guard, mapping, principal: { kind: "agent", id: "assistant" }, session: chatId });
 * const result = await generateText({ model, tools, prompt, stopWhen: stepCountIs(5) });
 * ```
 * @packageDocumentation
 */
import type { ModelMessage, Tool, ToolExecutionOptions, ToolSet } from "ai";
import type { Guard } from "../../guard/types.js";
import type { Principal } from "../../runtime/types.js";
import { createToolGate, type SessionEnd, type ToolGate, type Verdict } from "../tools/gate.js";
import type { CallScope, ToolMapping } from "../tools/mapping.js";
import { wireDecision, type WireDecision } from "../tools/wire.js";

export * from "../tools/index.js";

/** What a principal or session function is told about the call. */
export interface ToolCallContext {
  readonly tool: string;
  readonly toolCallId: string;
  readonly messages: readonly ModelMessage[];
  /** The `experimental_context` given to `generateText` / `streamText`. */
  readonly context: unknown;
}

export interface GuardToolsOptions {
  /** The gate to decide with; or give `guard` and `mapping`. */
  readonly gate?: ToolGate;
  readonly guard?: Guard;
  readonly mapping?: ToolMapping;
  /** Who calls the tools (the assistant, on behalf of whom). */
  readonly principal: Principal | ((call: ToolCallContext) => Principal);
  /** The session key: a chat id, a conversation, a user's session. */
  readonly session: string | ((call: ToolCallContext) => string);
  readonly onToolCall?: (verdict: Verdict) => void;
  readonly onSessionEnd?: (end: SessionEnd) => void;
}

/** Thrown by a guarded tool's `execute` when the policy refuses the call; the SDK reports it as a tool error. */
export class ToolCallRefused extends Error {
  override readonly name = "ToolCallRefused";
  /** The decision, as MCP clients receive it under `_meta["leash/decision"]`. */
  readonly decision: WireDecision;
  constructor(readonly verdict: Verdict) {
    super(verdict.message);
    this.decision = wireDecision(verdict);
  }
}

/** Verdicts of calls between `needsApproval` and `execute`, by tool call id. */
const MAX_PENDING = 10_000;

/** The tools with every call decided by the policy. Tools without `execute` (run by the client) are returned unchanged. */
export function guardTools<T extends ToolSet>(tools: T, options: GuardToolsOptions): T {
  const gate = options.gate ?? gateOf(options);
  const pending = new Map<string, Verdict>();
  const remember = (id: string, v: Verdict) => {
    pending.set(id, v);
    if (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value as string);
  };
  const out: Record<string, Tool> = {};
  for (const [name, original] of Object.entries(tools) as [string, Tool][]) {
    const run = original.execute;
    if (typeof run !== "function") {
      out[name] = original;
      continue;
    }
    const scopeOf = (c: ToolCallContext): CallScope => ({
      session: typeof options.session === "function" ? options.session(c) : options.session,
      principal: typeof options.principal === "function" ? options.principal(c) : options.principal,
      client: { name: "ai-sdk" },
    });
    const ownApproval = original.needsApproval;
    out[name] = {
      ...original,
      needsApproval: async (input: unknown, o: { toolCallId: string; messages: ModelMessage[]; experimental_context?: unknown }) => {
        // The SDK asks again when it replays an approval: keep it, and let execute decide.
        if (approved(o.messages, o.toolCallId)) return true;
        const c = { tool: name, toolCallId: o.toolCallId, messages: o.messages, context: o.experimental_context };
        const verdict = await gate.decide({ name, arguments: input }, scopeOf(c));
        remember(o.toolCallId, verdict);
        if (verdict.effect === "challenge") return true;
        if (!verdict.allowed) return false; // execute refuses it
        return typeof ownApproval === "function" ? Boolean(await ownApproval(input as never, o)) : Boolean(ownApproval);
      },
      execute: async (input: unknown, o: ToolExecutionOptions) => {
        const c = { tool: name, toolCallId: o.toolCallId, messages: o.messages, context: o.experimental_context };
        const call = { name, arguments: input };
        const held = pending.get(o.toolCallId);
        pending.delete(o.toolCallId);
        let verdict: Verdict;
        if (approved(o.messages, o.toolCallId)) {
          // The approval answers the challenge: report its signal, then decide the call again.
          if (held !== undefined) await gate.satisfy(held);
          verdict = await gate.decide(call, scopeOf(c), async () => "accept");
        } else verdict = held ?? (await gate.decide(call, scopeOf(c)));
        if (!verdict.allowed) throw new ToolCallRefused(verdict);
        return run.call(original, input as never, o as never);
      },
    } as Tool;
  }
  return out as T;
}

function gateOf(options: GuardToolsOptions): ToolGate {
  if (options.guard === undefined || options.mapping === undefined) throw new TypeError("guardTools: give a gate, or a guard and a mapping");
  return createToolGate({
    guard: options.guard,
    mapping: options.mapping,
    ...(options.onToolCall ? { onToolCall: options.onToolCall } : {}),
    ...(options.onSessionEnd ? { onSessionEnd: options.onSessionEnd } : {}),
  });
}

/** Whether the messages hold an approval (`tool-approval-response`, approved) of this tool call's approval request. */
function approved(messages: readonly ModelMessage[] | undefined, toolCallId: string): boolean {
  if (!Array.isArray(messages)) return false;
  const requests = new Set<string>();
  for (const m of messages) {
    if (m.role !== "assistant" || typeof m.content === "string") continue;
    for (const part of m.content) if (part.type === "tool-approval-request" && part.toolCallId === toolCallId) requests.add(part.approvalId);
  }
  if (requests.size === 0) return false;
  for (const m of messages) {
    if (m.role !== "tool") continue;
    for (const part of m.content) if (part.type === "tool-approval-response" && requests.has(part.approvalId) && part.approved === true) return true;
  }
  return false;
}
