import type { GuardEvent } from "../guard/types.js";

/**
 * One `onDecision` for several recorders (a decision log, telemetry, a test's array): each gets
 * every event in turn, and one that throws does not keep the event from the others.
 */
export function fanOut(...recorders: readonly (((event: GuardEvent) => void) | { readonly record: (event: GuardEvent) => void })[]): (event: GuardEvent) => void {
  const fns = recorders.map((r) => (typeof r === "function" ? r : r.record));
  return (event) => {
    for (const f of fns) {
      try {
        f(event);
      } catch {
        // One recorder's failure is its own.
      }
    }
  };
}
