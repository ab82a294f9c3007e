import type { CompareOp, Effect, EventFilter } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import type { LayoutDescriptor } from "../runtime/layout.js";

/**
 * The checked intermediate representation: names resolved, defaults filled in, history operators
 * deduplicated into a table of register slots grouped by key. Produced by `lower`, consumed by
 * `index` and `generate`. Plain data, no closures.
 */
export interface PolicyIR {
  readonly rules: readonly RuleIR[];
  readonly ops: readonly OpIR[];
  readonly keyGroups: readonly KeyGroupIR[];
  readonly workflows: readonly WorkflowIR[];
  readonly labels: readonly string[];
  /** Declared actions with their tags; empty when the policy has no actions block. */
  readonly actions: readonly { readonly name: string; readonly segments: readonly string[]; readonly high: boolean }[];
  readonly hasActionsBlock: boolean;
  /** Attribute paths a revoke rule can target besides session and principal. */
  readonly revokeTargets: readonly KeyIR[];
  /** The key groups of sessions and of principals (present in every policy: revocations live there). */
  readonly sessionGroup: number;
  readonly principalGroup: number;
  /** The key groups of the `target` attribute paths, in `revokeTargets` order. */
  readonly targetGroups: readonly number[];
  /** Attribute paths the schema marks `[secret]` (`context.password`): decision logs redact their values. */
  readonly secrets: readonly string[];
}

/** A key of one part: the session, the principal, or an attribute value. */
export type SimpleKeyIR =
  | { readonly kind: "session" }
  | { readonly kind: "principal" }
  | { readonly kind: "path"; readonly root: "principal" | "resource" | "context" | "action"; readonly segments: readonly string[]; readonly text: string };

/**
 * How a history is partitioned: by one part, or by several (`by (session, resource.path)`), one
 * partition per combination of values. A compound key's parts are sorted by their text, so the
 * order they were written in does not make another key; its text is `(resource.path,session)`.
 */
export type KeyIR = SimpleKeyIR | { readonly kind: "compound"; readonly parts: readonly SimpleKeyIR[]; readonly text: string };

export interface KeyGroupIR {
  readonly index: number;
  readonly key: KeyIR;
  /** Canonical text: `session`, `principal`, `context.ip`. */
  readonly text: string;
  /** How long a partition of this group lives after its last write (ms). */
  readonly ttl: number;
  /** Number of register slots in one partition (the operators' `registerWidth`s added up). */
  readonly slots: number;
  /** The operators whose registers the partition holds, in slot order. */
  readonly ops: readonly number[];
  /**
   * Whether the partition holds state without a window (limits and grants without `within`,
   * `since`, `gap`, `after` without `within`, `regularity`, labels, workflows): then every event
   * that reads it, not only one that changes it, extends its lifetime.
   */
  readonly lifetime: boolean;
  /** What its registers mean, for another policy version that reads the partition. */
  readonly layout: LayoutDescriptor;
  /** Content hash of `layout`: partitions carry it. */
  readonly layoutId: string;
}

export interface EventSelIR {
  readonly filter: EventFilter;
  readonly patterns: readonly (readonly string[])[];
}

/** A history operator occupying one register slot of a key group. */
export type OpIR =
  | OpBase<"after"> & { readonly events: EventSelIR; readonly window: number | null; readonly until: EventSelIR | null }
  | OpBase<"since"> & { readonly events: EventSelIR }
  | OpBase<"gap"> & { readonly events: EventSelIR }
  | OpBase<"count"> & { readonly events: EventSelIR; readonly window: number; readonly capacity: number }
  | OpBase<"distinct"> & { readonly events: EventSelIR | null; readonly attribute: PathIR; readonly window: number; readonly capacity: number }
  | OpBase<"rate"> & { readonly events: EventSelIR; readonly limit: number; readonly per: number }
  | OpBase<"regularity"> & { readonly events: EventSelIR; readonly samples: number }
  | OpBase<"sequence"> & { readonly stages: readonly EventSelIR[]; readonly window: number; readonly until: EventSelIR | null }
  | OpBase<"workflow"> & { readonly workflow: number }
  | OpBase<"limit"> & { readonly rule: number; readonly count: number; readonly window: number | null }
  /** `limit N distinct ATTR per K`: at most N distinct values of ATTR among the rule's uses (`resource`: its path, else its id). */
  | OpBase<"distinctLimit"> & { readonly rule: number; readonly count: number; readonly window: number | null; readonly attribute: PathIR }
  | OpBase<"grant"> & { readonly rule: number; readonly duration: number }
  | OpBase<"labels">;

interface OpBase<K extends string> {
  readonly op: K;
  readonly index: number;
  readonly group: number;
  readonly slot: number;
  /** Canonical text used to deduplicate identical operators: kind, key, events, window. */
  readonly signature: string;
  /** Content hash of `signature`: how a partition's layout names the operator across policy versions. */
  readonly id: string;
}

export interface PathIR {
  readonly root: "principal" | "resource" | "context" | "action";
  readonly segments: readonly string[];
  readonly text: string;
  readonly span: Span;
}

export type ExprIR =
  | { readonly t: "lit"; readonly value: string | number | boolean; readonly span: Span }
  | { readonly t: "set"; readonly values: readonly (string | number | boolean)[]; readonly span: Span }
  | { readonly t: "path"; readonly path: PathIR; readonly span: Span }
  | { readonly t: "and" | "or"; readonly left: ExprIR; readonly right: ExprIR; readonly span: Span }
  | { readonly t: "not"; readonly operand: ExprIR; readonly span: Span }
  | { readonly t: "cmp"; readonly op: CompareOp; readonly left: ExprIR; readonly right: ExprIR; readonly span: Span }
  | { readonly t: "in"; readonly element: ExprIR; readonly collection: ExprIR; readonly span: Span }
  | { readonly t: "like"; readonly subject: ExprIR; readonly pattern: string; readonly span: Span }
  | { readonly t: "has"; readonly root: "principal" | "resource" | "context" | "action"; readonly segments: readonly string[]; readonly span: Span }
  | { readonly t: "label"; readonly label: number; readonly op: number; readonly span: Span }
  /**
   * A history operator read: its value (boolean, number or duration) at decision time. `current`
   * (`including this`, count and distinct only): the event being decided counts as if it had happened.
   */
  | { readonly t: "op"; readonly op: number; readonly current: boolean; readonly span: Span };

const NO_OPERANDS: readonly ExprIR[] = Object.freeze([]);

/**
 * The operands of an expression, left to right (none for a leaf): what every walk over a condition
 * (the generator's key groups and action-only test, the compiled-form check) descends into.
 */
export function operandsOf(e: ExprIR): readonly ExprIR[] {
  switch (e.t) {
    case "and":
    case "or":
    case "cmp":
      return [e.left, e.right];
    case "not":
      return [e.operand];
    case "in":
      return [e.element, e.collection];
    case "like":
      return [e.subject];
    default:
      return NO_OPERANDS;
  }
}

export interface PrincipalSelIR {
  readonly kind: string | null;
  readonly id: string | null;
  readonly attributes: readonly { readonly name: string; readonly value: string | number | boolean }[];
}

export interface RuleIR {
  readonly index: number;
  readonly id: string;
  readonly span: Span;
  readonly effect: Effect;
  readonly actions: readonly (readonly string[])[];
  readonly signals: readonly (readonly string[])[];
  readonly principals: readonly PrincipalSelIR[];
  readonly resources: readonly string[];
  readonly condition: ExprIR | null;
  readonly reason: string | null;
  /** The rule's `limit` or `distinctLimit` operator. */
  readonly limit: number | null;
  readonly grant: number | null;
  readonly labels: readonly { readonly label: number; readonly duration: number | null }[];
  readonly labelsOp: number | null;
  readonly obligation: { readonly kind: string; readonly satisfiedBy: readonly string[] } | null;
  readonly revokeTarget: KeyIR | null;
  /** Attribute paths the rule reads (for `watch`). */
  readonly reads: readonly string[];
  /** Workflow index when the rule is a workflow's `on deviation` rule. */
  readonly workflow: number | null;
}

export interface WorkflowIR {
  readonly index: number;
  readonly name: string;
  readonly span: Span;
  readonly op: number;
  /** Position i: the action patterns of step i. */
  readonly positions: readonly (readonly (readonly string[])[])[];
  /** `over ...`: the actions the workflow governs; null: the actions its steps name. */
  readonly scope: readonly (readonly string[])[] | null;
  /** Bit masks over positions. */
  readonly first: number;
  readonly follow: readonly number[];
  readonly accepting: number;
}
