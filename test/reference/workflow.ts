import type { WorkflowDecl, WorkflowStep } from "../../src/ast/nodes.js";
import type { KeyPast } from "./history.js";
import { actionMatches } from "./match.js";

/**
 * Workflows (docs/semantics.md, "Workflows") as a set of positions: position `p` means "the last
 * action taken was step p" (0: nothing yet). The workflow is the regular language
 * `(s1 s2 ... sn)*` where `*` steps may repeat or be skipped, `+` repeat, `?` be skipped.
 */

type Positions = ReadonlySet<number>;

function stepHas(step: WorkflowStep, action: string): boolean {
  return step.actions.some((p) => actionMatches(p.segments, action));
}

const skippable = (s: WorkflowStep) => s.repeat === "optional" || s.repeat === "many";
const repeatable = (s: WorkflowStep) => s.repeat === "many" || s.repeat === "some";

/** The actions the workflow governs: its scope (`over ...`), else the actions its steps name. */
export function inAlphabet(wf: WorkflowDecl, action: string): boolean {
  if (wf.scope.length > 0) return wf.scope.some((p) => actionMatches(p.segments, action));
  return wf.steps.some((s) => stepHas(s, action));
}

/** Steps reachable from position `p` by taking `action` next, skipping only skippable steps. */
function forward(wf: WorkflowDecl, p: number, action: string): number[] {
  const out: number[] = [];
  for (let j = p + 1; j <= wf.steps.length; j++) {
    const step = wf.steps[j - 1]!;
    if (stepHas(step, action)) out.push(j);
    if (!skippable(step)) break;
  }
  return out;
}

function successors(wf: WorkflowDecl, p: number, action: string): number[] {
  const out: number[] = [];
  const current = wf.steps[p - 1];
  if (current !== undefined && repeatable(current) && stepHas(current, action)) out.push(p);
  out.push(...forward(wf, p, action));
  // After the last step (all remaining steps may be skipped) the workflow may start again.
  if (wf.steps.slice(p).every(skippable)) out.push(...forward(wf, 0, action));
  return out;
}

export function step(wf: WorkflowDecl, positions: Positions, action: string): Set<number> {
  const out = new Set<number>();
  for (const p of positions) for (const q of successors(wf, p, action)) out.add(q);
  return out;
}

/** After a deviation that happened anyway, the workflow restarts from that action. */
function restartFrom(wf: WorkflowDecl, action: string): Set<number> {
  const out = new Set<number>();
  wf.steps.forEach((s, i) => {
    if (stepHas(s, action)) out.add(i + 1);
  });
  return out;
}

/** Replays the actions of the key that happened (allowed requests), ignoring those outside the alphabet. */
export function positionsAfter(wf: WorkflowDecl, past: KeyPast): Positions {
  let positions: Set<number> = new Set([0]);
  for (const { event } of past.events) {
    if (event.kind !== "request" || event.effect !== "allow") continue;
    const action = event.subject.action;
    if (!inAlphabet(wf, action)) continue;
    const next = step(wf, positions, action);
    if (next.size > 0) positions = next;
    else {
      // An action of the scope that no step names leaves the workflow where it was.
      const restart = restartFrom(wf, action);
      if (restart.size > 0) positions = restart;
    }
  }
  return positions;
}

/** The current action is in the alphabet and is not an allowed next step. */
export function deviates(wf: WorkflowDecl, past: KeyPast, action: string): boolean {
  return inAlphabet(wf, action) && step(wf, positionsAfter(wf, past), action).size === 0;
}
