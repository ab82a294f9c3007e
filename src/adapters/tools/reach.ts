/**
 * Which actions a principal could ever be allowed: used to hide tools from `tools/list` that no
 * call of this principal can pass. Over-approximates on purpose — conditions, resources, limits and
 * histories are ignored — so a tool is hidden only when no allow rule can ever match it.
 */
import { actionPatternMatches, compileGlob, globMatch } from "../../runtime/glob.js";
import type { Policy } from "../../runtime/engine.js";
import type { PrincipalSelIR } from "../../compile/ir.js";
import type { Principal } from "../../runtime/types.js";

/** True when some allow rule targets `action` (naming it, if it is `[high]`) and admits `principal`. */
export function couldEverAllow(policy: Policy, action: string, principal: Principal): boolean {
  const high = policy.ir.actions.some((a) => a.high && a.name === action);
  for (const r of policy.ir.rules) {
    if (r.effect !== "allow") continue;
    const targets = r.actions.some((p) => (high ? !p.includes("*") && p.join(".") === action : actionPatternMatches(p, action)));
    if (!targets) continue;
    if (r.principals.length === 0 || r.principals.some((s) => admits(s, principal))) return true;
  }
  return false;
}

function admits(s: PrincipalSelIR, p: Principal): boolean {
  if (s.kind !== null && s.kind !== p.kind) return false;
  if (s.id !== null && !globMatch(compileGlob(s.id), p.id)) return false;
  return s.attributes.every((a) => Object.prototype.hasOwnProperty.call(p, a.name) && p[a.name] === a.value);
}
