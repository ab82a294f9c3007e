import { Failure, MAX_STRING } from "../runtime/attributes.js";
import type { EvalContext } from "../runtime/context.js";
import { hasPrefix } from "../runtime/glob.js";
import type { RuleOutcome, RuleTest } from "./generate.js";
import { BOOLEAN_TYPE, internalize, NUMBER_TYPE, STRING_TYPE, type IndexValue } from "./rule-index.js";

/**
 * Checks: the conjuncts of a rule as records of one shape, read by one function with a switch.
 *
 * A rule's selectors and condition parts compiled to closures are a chain of calls (the rule's
 * conjunction, each part, each operand) through call sites that every rule shares, so V8 inlines
 * none of them; for a rule that an index has already narrowed to one or two conjuncts, those calls
 * were most of its cost. The commonest conjuncts — a principal's kind, id or attribute, a resource
 * path or prefix, an attribute compared with a literal or another attribute, an attribute in a set
 * of literals, a bool attribute — are records here that `runChecks` evaluates with a switch, reading
 * own properties of the request directly. Each record keeps the conjunct's full closure (`full`):
 * whenever the direct reading does not give an ordinary value of the expected type (a missing or
 * inherited attribute, a set, an over-long string, a value of another type), `full` decides, so a
 * check gives exactly the value and the failure that the closure gives.
 */

export const enum CheckKind {
  /** Anything else: `full` decides. */
  Full,
  /** The principal's kind is `value` (R301 without a principal). */
  Kind,
  /** The principal's id is `value`. */
  Id,
  /** A selector's `{ seg: value }`. */
  SelectorAttribute,
  /** `resource.path` (else `resource.id`) starts with `value`. */
  ResourcePrefix,
  /** `resource.path` (else `resource.id`) is `value`. */
  ResourceExact,
  /** `root.seg == value` */
  Equal,
  /** `root.seg != value` */
  NotEqual,
  /** `root.seg in set` */
  In,
  /** `root.seg < value`, and so on: the attribute on the left. */
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  /** `root.seg == root2.seg2` */
  SameAs,
  /** `root.seg != root2.seg2` */
  DifferentFrom,
  /** A bool attribute as a condition (`value` true), or under `not` (`value` false). */
  Flag,
}

export const enum Root {
  Principal,
  Resource,
  Context,
}

export class Check {
  constructor(
    readonly kind: CheckKind,
    readonly root: Root,
    /** The attribute's name (one-segment paths only). */
    readonly seg: string,
    readonly value: IndexValue,
    readonly root2: Root,
    readonly seg2: string,
    readonly set: ReadonlySet<IndexValue> | null,
    /** The type bits of `value` (or of the set's elements): a usable value of such a type that is not accepted makes the check false. */
    readonly types: number,
    /** The failure of a selector check on an event without a principal. */
    readonly failure: Failure | null,
    /** The conjunct's closure: the value and failure whenever the direct reading is not enough. */
    readonly full: RuleTest,
    /** The conjunct's place in the rule as written: of several failures, the first written is reported. */
    readonly place: number,
  ) {}

  /** The same check at another place. */
  at(place: number): Check {
    return new Check(this.kind, this.root, this.seg, this.value, this.root2, this.seg2, this.set, this.types, this.failure, this.full, place);
  }
}

/** A check that only its closure can evaluate. */
export function fullCheck(test: RuleTest): Check {
  return new Check(CheckKind.Full, Root.Principal, "", "", Root.Principal, "", null, 0, null, test, 0);
}

export function check(kind: CheckKind, full: RuleTest, parts: Partial<Pick<Check, "root" | "seg" | "value" | "root2" | "seg2" | "set" | "types" | "failure">>): Check {
  const value = parts.value ?? "";
  return new Check(kind, parts.root ?? Root.Principal, parts.seg ?? "", typeof value === "string" ? internalize(value) : value, parts.root2 ?? Root.Principal, parts.seg2 ?? "", parts.set ?? null, parts.types ?? 0, parts.failure ?? null, full, 0);
}

/** How early a check runs: cheap and selective first (an exact id is false for most requests), closures last. */
const EARLY: Readonly<Record<CheckKind, number>> = {
  [CheckKind.Id]: 0,
  [CheckKind.SelectorAttribute]: 1,
  [CheckKind.Equal]: 1,
  [CheckKind.In]: 1,
  [CheckKind.Kind]: 2,
  [CheckKind.ResourceExact]: 2,
  [CheckKind.ResourcePrefix]: 2,
  [CheckKind.NotEqual]: 3,
  [CheckKind.Less]: 3,
  [CheckKind.LessEqual]: 3,
  [CheckKind.Greater]: 3,
  [CheckKind.GreaterEqual]: 3,
  [CheckKind.SameAs]: 3,
  [CheckKind.DifferentFrom]: 3,
  [CheckKind.Flag]: 3,
  [CheckKind.Full]: 9,
};

/**
 * The checks of a rule (given in the order written) in the order they run. Only direct readings
 * move, and they have no effect but their value; closures keep their written order and run last,
 * so a false direct reading spares them (a history read the rule's outcome cannot depend on).
 */
export function runOrder(checks: readonly Check[]): Check[] {
  return checks.map((k, i) => k.at(i)).sort((a, b) => EARLY[a.kind] - EARLY[b.kind] || a.place - b.place);
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Read off an attribute that is absent (so the full closure must say why). */
const ABSENT: unique symbol = Symbol("absent");

function own(o: Readonly<Record<string, unknown>> | undefined, seg: string): unknown {
  return o !== undefined && hasOwn.call(o, seg) ? o[seg] : ABSENT;
}

/** A value a comparison reads as it is, of a type in `types`. */
function usable(v: unknown, types: number): boolean {
  switch (typeof v) {
    case "string":
      return (types & STRING_TYPE) !== 0 && v.length <= MAX_STRING;
    case "number":
      return (types & NUMBER_TYPE) !== 0 && v - v === 0;
    case "boolean":
      return (types & BOOLEAN_TYPE) !== 0;
    default:
      return false;
  }
}

function isNumber(v: unknown): v is number {
  return typeof v === "number" && v - v === 0;
}

function rootOf(c: EvalContext, root: Root): Readonly<Record<string, unknown>> | undefined {
  return root === Root.Principal ? c.ev.principal : root === Root.Resource ? c.ev.resource : c.ev.context;
}

/** One check's outcome. */
export function runCheck(k: Check, c: EvalContext): RuleOutcome {
  return runChecks([k], c);
}

/**
 * The Kleene conjunction of `checks` (in `runOrder`): false as soon as one is false (the rest are
 * not evaluated), else the failure of the first conjunct as written, else true. The switch is
 * here, not in a function per check, so evaluating a rule is one call.
 */
export function runChecks(checks: readonly Check[], c: EvalContext): RuleOutcome {
  let failure: Failure | null = null;
  let failedAt = 0;
  for (let i = 0; i < checks.length; i++) {
    const k = checks[i]!;
    let o: RuleOutcome;
    switch (k.kind) {
      case CheckKind.Id:
        o = c.ev.principalKind === undefined ? k.failure! : c.ev.principalId === k.value;
        break;
      case CheckKind.Kind: {
        const kind = c.ev.principalKind;
        o = kind === undefined ? k.failure! : kind === k.value;
        break;
      }
      case CheckKind.SelectorAttribute: {
        if (c.ev.principalKind === undefined) o = k.failure!;
        else {
          const v = own(c.ev.principal, k.seg);
          o = v === k.value ? true : usable(v, k.types) ? false : k.full(c);
        }
        break;
      }
      case CheckKind.ResourcePrefix: {
        const p = c.ev.resourcePath;
        o = typeof p === "string" && p.length <= MAX_STRING ? hasPrefix(p, k.value as string) : k.full(c);
        break;
      }
      case CheckKind.ResourceExact: {
        const p = c.ev.resourcePath;
        o = typeof p === "string" && p.length <= MAX_STRING ? p === k.value : k.full(c);
        break;
      }
      case CheckKind.Equal:
      case CheckKind.NotEqual: {
        const v = own(rootOf(c, k.root), k.seg);
        const eq = k.kind === CheckKind.Equal;
        o = v === k.value ? eq : usable(v, k.types) ? !eq : k.full(c);
        break;
      }
      case CheckKind.In: {
        const v = own(rootOf(c, k.root), k.seg);
        o = !usable(v, STRING_TYPE | NUMBER_TYPE | BOOLEAN_TYPE) ? k.full(c) : k.set!.has(v as IndexValue) ? true : usable(v, k.types) ? false : k.full(c);
        break;
      }
      case CheckKind.Less:
      case CheckKind.LessEqual:
      case CheckKind.Greater:
      case CheckKind.GreaterEqual: {
        const v = own(rootOf(c, k.root), k.seg);
        if (!isNumber(v)) o = k.full(c);
        else {
          const n = k.value as number;
          o = k.kind === CheckKind.Less ? v < n : k.kind === CheckKind.LessEqual ? v <= n : k.kind === CheckKind.Greater ? v > n : v >= n;
        }
        break;
      }
      case CheckKind.SameAs:
      case CheckKind.DifferentFrom: {
        const a = own(rootOf(c, k.root), k.seg);
        const b = own(rootOf(c, k.root2), k.seg2);
        const all = STRING_TYPE | NUMBER_TYPE | BOOLEAN_TYPE;
        o = typeof a !== typeof b || !usable(a, all) || !usable(b, all) ? k.full(c) : (a === b) === (k.kind === CheckKind.SameAs);
        break;
      }
      case CheckKind.Flag: {
        const v = own(rootOf(c, k.root), k.seg);
        o = v === true ? k.value === true : v === false ? k.value === false : k.full(c);
        break;
      }
      default:
        o = k.full(c);
    }
    if (o === false) return false;
    if (o !== true && (failure === null || k.place < failedAt)) {
      failure = o;
      failedAt = k.place;
    }
  }
  return failure === null ? true : failure;
}
