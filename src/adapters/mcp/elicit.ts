/**
 * A challenge as an MCP elicitation (`elicitation/create`, form mode): the user sees what the call
 * is and what the policy asks for, and answers with one checkbox. Accepting with the box ticked
 * is the only answer that counts as approval.
 */
import type { Challenge } from "../tools/gate.js";

/** The field of the elicitation form the user ticks to approve. */
export const APPROVE_FIELD = "approve";

/** The `params` of the `elicitation/create` request for a challenge. */
export function elicitationParams(c: Challenge): Record<string, unknown> {
  const kinds = [...new Set(c.obligations.map((o) => o.challenge))].join(", ") || "step-up";
  return {
    mode: "form",
    message: `${c.message}. Approve this call of ${c.tool}?`,
    requestedSchema: {
      type: "object",
      properties: {
        [APPROVE_FIELD]: { type: "boolean", title: "Approve", description: `Tick to give ${kinds} for ${c.tool} (${c.action})` },
      },
      required: [APPROVE_FIELD],
    },
    _meta: { "leash/challenge": { tool: c.tool, action: c.action, session: c.session, obligations: c.obligations } },
  };
}

/** Reads an `ElicitResult`: `accept` only when the action is accept and the box is ticked. */
export function elicitationAnswer(result: unknown): "accept" | "decline" | "cancel" {
  if (result === null || typeof result !== "object") return "cancel";
  const r = result as { action?: unknown; content?: unknown };
  if (r.action === "decline") return "decline";
  if (r.action !== "accept") return "cancel";
  const content = r.content;
  const ticked = content !== null && typeof content === "object" && Object.prototype.hasOwnProperty.call(content, APPROVE_FIELD) && (content as Record<string, unknown>)[APPROVE_FIELD] === true;
  return ticked ? "accept" : "decline";
}

/** Whether a client's capabilities include form elicitation (an empty `elicitation` object means form). */
export function canElicit(capabilities: unknown): boolean {
  if (capabilities === null || typeof capabilities !== "object") return false;
  const e = (capabilities as { elicitation?: unknown }).elicitation;
  if (e === null || typeof e !== "object") return false;
  const keys = Object.keys(e);
  return keys.length === 0 || Object.prototype.hasOwnProperty.call(e, "form");
}
