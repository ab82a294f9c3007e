import { checkValue, Failure, MAX_STRING } from "../runtime/attributes.js";
import type { EvalContext } from "../runtime/context.js";
import type { Event } from "../runtime/request.js";
import type { Check } from "./checks.js";
import type { CompiledRule } from "./generate.js";

/*
 * Stage: the rule index. Within one action's candidate rules, a discrimination tree over what the
 * rules test for equality (after OPA's rule indexer): principal kind and exact id, attribute
 * selectors (`{ role: "r17" }`), `==` and `in` comparisons of an attribute with literals, and the
 * literal first segment of resource globs. A decision reads each tested attribute of the request
 * and looks only at the rules that can match it.
 *
 * What makes skipping a rule safe (deny rules included, where a wrong skip would be fail-open): a
 * rule is a Kleene conjunction of its selectors and conditions, and a conjunct that is false makes
 * the rule false whatever the others give — no match, no error. The index skips a rule only when
 * it read the attribute as a value of a type the rule compares it with, and the value is not one the
 * rule accepts: then that conjunct is false. A missing attribute, a value of another type, a set or
 * an over-long string is "unreadable" for the index, and every rule that tests the attribute is
 * evaluated in full, so it fails closed exactly as without the index.
 */

/** An attribute value as an index reads it: a scalar a comparison could accept. */
export type IndexValue = string | number | boolean;

/** What an index read gives for a missing attribute or a value no comparison accepts. */
export const UNREADABLE: unique symbol = Symbol("unreadable");

/** Value types as bits, for the types a constraint compares with. */
export const STRING_TYPE = 1;
export const NUMBER_TYPE = 2;
export const BOOLEAN_TYPE = 4;

export function typeBit(v: IndexValue): number {
  return typeof v === "string" ? STRING_TYPE : typeof v === "number" ? NUMBER_TYPE : BOOLEAN_TYPE;
}

export type KeyClass = "kind" | "id" | "segment" | "principal" | "resource" | "context";

const K_KIND = 0;
const K_ID = 1;
const K_SEGMENT = 2;
const K_ATTRIBUTE = 3;

/** Something an index node reads from the event. One object per policy and text (see IndexKeys). */
export class IndexKey {
  constructor(
    /** `principal.kind`, `principal.id`, `resource segment`, `principal.role`, `context.tier`... */
    readonly text: string,
    readonly reads: number,
    readonly root: "principal" | "resource" | "context",
    readonly segments: readonly string[],
    readonly keyClass: KeyClass,
  ) {}
}

/** The keys of one policy, one object per text, so that rules testing the same attribute share a key. */
export class IndexKeys {
  private readonly byText = new Map<string, IndexKey>();

  kind(): IndexKey {
    return this.get("principal.kind", () => new IndexKey("principal.kind", K_KIND, "principal", ["kind"], "kind"));
  }

  id(): IndexKey {
    return this.get("principal.id", () => new IndexKey("principal.id", K_ID, "principal", ["id"], "id"));
  }

  /** The first `/`-separated segment of the resource the globs match (its path, else its id). */
  segment(): IndexKey {
    return this.get("resource segment", () => new IndexKey("resource segment", K_SEGMENT, "resource", [], "segment"));
  }

  /** An attribute path; `principal.kind` and `principal.id` are the event's own kind and id. */
  attribute(root: "principal" | "resource" | "context", segments: readonly string[]): IndexKey {
    if (root === "principal" && segments.length === 1 && segments[0] === "kind") return this.kind();
    if (root === "principal" && segments.length === 1 && segments[0] === "id") return this.id();
    const text = `${root}.${segments.join(".")}`;
    return this.get(text, () => new IndexKey(text, K_ATTRIBUTE, root, [...segments], root));
  }

  private get(text: string, make: () => IndexKey): IndexKey {
    let k = this.byText.get(text);
    if (k === undefined) this.byText.set(text, (k = make()));
    return k;
  }
}

/**
 * What a rule needs for `key`: one of `values`. When the index reads a value whose type bit is in
 * `types` and that is not among `values`, the rule is false. `types` covers the type of every value.
 */
export interface Constraint {
  readonly key: IndexKey;
  readonly values: readonly IndexValue[];
  readonly types: number;
  /** The conjunct the constraint is (it holds when the value is among `values`), or -1. */
  readonly conjunct: number;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The value at `obj.seg1.seg2...` through own properties, as `readOwn` reads it, when it is a
 * scalar a comparison accepts; else UNREADABLE. Allocates nothing.
 */
export function peekScalar(obj: unknown, segments: readonly string[]): IndexValue | typeof UNREADABLE {
  let cur = obj;
  for (let i = 0; i < segments.length; i++) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return UNREADABLE;
    const seg = segments[i]!;
    if (!hasOwn.call(cur, seg)) return UNREADABLE;
    cur = (cur as Record<string, unknown>)[seg];
  }
  switch (typeof cur) {
    case "string":
      return cur.length <= MAX_STRING ? cur : UNREADABLE;
    case "number":
      return Number.isFinite(cur) ? cur : UNREADABLE;
    case "boolean":
      return cur;
    default:
      return UNREADABLE;
  }
}

/** What `readOwn(resource, [name])` gives, as: a string, another value it accepts (`true`), or none (`false`). */
function resourceField(res: Readonly<Record<string, unknown>>, name: string): string | boolean {
  if (!hasOwn.call(res, name)) return false;
  const v = res[name];
  if (typeof v === "string") return v.length <= MAX_STRING ? v : false;
  if (typeof v === "number") return Number.isFinite(v);
  if (typeof v === "boolean") return true;
  if (Array.isArray(v)) return !(checkValue(v, name, undefined) instanceof Failure);
  return false;
}

/**
 * The first segment of the string resource globs are matched against, chosen as rule resource
 * selectors choose it (`path` when readable, else `id`); UNREADABLE when that is not a string.
 */
export function resourceSegment(ev: Event): string | typeof UNREADABLE {
  const res = ev.resource;
  if (res === undefined) return UNREADABLE;
  let subject = resourceField(res, "path");
  if (subject === false) subject = resourceField(res, "id");
  if (typeof subject !== "string") return UNREADABLE;
  const slash = subject.indexOf("/");
  return slash < 0 ? "" : subject.slice(0, slash);
}

export function readKey(key: IndexKey, ev: Event): IndexValue | typeof UNREADABLE {
  switch (key.reads) {
    case K_KIND:
      return ev.principalKind ?? UNREADABLE;
    case K_ID:
      return ev.principalId ?? UNREADABLE;
    case K_SEGMENT:
      return resourceSegment(ev);
    default:
      return peekScalar(key.root === "principal" ? ev.principal : key.root === "resource" ? ev.resource : ev.context, key.segments);
  }
}

/** A rule where an index node evaluates it, with the checks that remain once the path to it is known. */
export class Probe {
  constructor(
    readonly rule: CompiledRule,
    readonly checks: readonly Check[],
  ) {}
}

/** One node of a bucket's index. A leaf has no key. */
export class IndexNode {
  constructor(
    /** Evaluated whenever the node is reached. */
    readonly probes: readonly Probe[],
    readonly key: IndexKey | null,
    /** Children by string value: a dictionary without a prototype (see `internalize`). */
    readonly strings: Readonly<Record<string, IndexNode>> | null,
    readonly numbers: ReadonlyMap<number, IndexNode> | null,
    readonly whenTrue: IndexNode | null,
    readonly whenFalse: IndexNode | null,
    /** Rules constrained on `key` that do not compare with strings (numbers, booleans): a value of that type may fail them. */
    readonly otherThanString: readonly Probe[],
    readonly otherThanNumber: readonly Probe[],
    readonly otherThanBoolean: readonly Probe[],
    /** Every rule constrained on `key`, once, evaluated in full when the key is unreadable. */
    readonly unreadable: readonly Probe[],
    /** The rules that do not test `key`. */
    readonly rest: IndexNode | null,
    /** Rules under this node (each once), and how many of them are deny, challenge, revoke or flag rules. */
    readonly size: number,
    readonly denyLike: number,
  ) {}
}

/** Receives the rules a decision must evaluate (the engine). */
export interface ProbeSink {
  consider(p: Probe, c: EvalContext, held: boolean): void;
}

/** Hands `sink` every rule of the index that the event can match, each once. */
export function walkIndex(node: IndexNode, c: EvalContext, held: boolean, sink: ProbeSink): void {
  const probes = node.probes;
  for (let i = 0; i < probes.length; i++) sink.consider(probes[i]!, c, held);
  const key = node.key;
  if (key === null) return;
  const v = readKey(key, c.ev);
  if (v === UNREADABLE) {
    const list = node.unreadable;
    if (activeTrace !== null) activeTrace.unreadable(node);
    for (let i = 0; i < list.length; i++) sink.consider(list[i]!, c, held);
  } else {
    let child: IndexNode | null | undefined;
    let others: readonly Probe[];
    if (typeof v === "string") {
      child = node.strings === null ? undefined : node.strings[v];
      others = node.otherThanString;
    } else if (typeof v === "number") {
      child = node.numbers === null ? undefined : node.numbers.get(v);
      others = node.otherThanNumber;
    } else {
      child = v ? node.whenTrue : node.whenFalse;
      others = node.otherThanBoolean;
    }
    if (activeTrace !== null) activeTrace.lookup(node, child ?? null, others);
    if (child !== undefined && child !== null) walkIndex(child, c, held, sink);
    for (let i = 0; i < others.length; i++) sink.consider(others[i]!, c, held);
  }
  if (node.rest !== null) walkIndex(node.rest, c, held, sink);
}

/* ---- building ------------------------------------------------------------------------------- */

export interface IndexOptions {
  /** A node with at most this many rules is a leaf that evaluates them all (0: index whatever can be). */
  readonly leafSize: number;
}

export const DEFAULT_INDEX_OPTIONS: IndexOptions = { leafSize: 3 };

/** Constraints of more values than this are not indexed (a rule would be copied under each). */
const MAX_INDEXED_VALUES = 1024;

/** A rule on its way into the tree: its constraints not used yet and the conjuncts known to hold. */
interface Entry {
  readonly rule: CompiledRule;
  readonly constraints: readonly Constraint[];
  readonly established: number;
}

/** A rule that the index places: established conjuncts (bit i: conjunct i holds on the way there). */
export interface Placement {
  readonly rule: CompiledRule;
  readonly established: number;
}

const EMPTY_PROBES: readonly Probe[] = Object.freeze([]);

/**
 * The index of one bucket's candidate rules. `established` says which conjuncts of each rule hold
 * for the bucket already (those on the action's name).
 */
export function buildIndex(placements: readonly Placement[], options: IndexOptions = DEFAULT_INDEX_OPTIONS): IndexNode {
  const entries = placements.map((p): Entry => ({ rule: p.rule, constraints: indexable(p.rule.constraints), established: p.established }));
  return build(entries, options);
}

/** One constraint per key (the one with the fewest values), none with too many values. */
function indexable(cs: readonly Constraint[]): Constraint[] {
  const best = new Map<IndexKey, Constraint>();
  for (const c of cs) {
    if (c.values.length === 0 || c.values.length > MAX_INDEXED_VALUES) continue;
    const prev = best.get(c.key);
    if (prev === undefined || c.values.length < prev.values.length) best.set(c.key, c);
  }
  return [...best.values()];
}

function isDenyLike(r: CompiledRule): boolean {
  return r.effect !== "allow";
}

function probesOf(entries: readonly Entry[]): readonly Probe[] {
  return entries.length === 0 ? EMPTY_PROBES : entries.map((e) => e.rule.probe(e.established));
}

function leaf(entries: readonly Entry[]): IndexNode {
  const probes = probesOf(entries);
  return new IndexNode(probes, null, null, null, null, null, EMPTY_PROBES, EMPTY_PROBES, EMPTY_PROBES, EMPTY_PROBES, null, entries.length, entries.filter((e) => isDenyLike(e.rule)).length);
}

/** A typed value as a string, to count distinct values at build time. */
const valueText = (v: IndexValue): string => `${typeof v}:${String(v)}`;

/**
 * The key whose split leaves the fewest rules to evaluate: the rules that do not test it, plus
 * the rules of one value on average, plus one for the read itself. Null when no key saves at least
 * two evaluations (a read and a map lookup cost about as much as evaluating a simple rule).
 */
function bestKey(entries: readonly Entry[], options: IndexOptions): IndexKey | null {
  const tally = new Map<IndexKey, { rules: number; placements: number; distinct: Set<string> }>();
  for (const e of entries) {
    for (const c of e.constraints) {
      let t = tally.get(c.key);
      if (t === undefined) tally.set(c.key, (t = { rules: 0, placements: 0, distinct: new Set() }));
      t.rules++;
      t.placements += c.values.length;
      for (const v of c.values) t.distinct.add(valueText(v));
    }
  }
  let best: IndexKey | null = null;
  let bestCost = Infinity;
  for (const [key, t] of tally) {
    const cost = entries.length - t.rules + t.placements / t.distinct.size + 1;
    if (cost < bestCost || (cost === bestCost && best !== null && key.text < best.text)) {
      best = key;
      bestCost = cost;
    }
  }
  const saving = entries.length - bestCost;
  return best !== null && (options.leafSize === 0 || saving >= 2) ? best : null;
}

function build(entries: readonly Entry[], options: IndexOptions): IndexNode {
  if (entries.length === 0) return leaf(entries);
  if (entries.length <= options.leafSize) return leaf(entries);
  const key = bestKey(entries, options);
  if (key === null) return leaf(entries);
  const strings = new Map<string, Entry[]>();
  const numbers = new Map<number, Entry[]>();
  const trues: Entry[] = [];
  const falses: Entry[] = [];
  const constrained: Entry[] = [];
  const rest: Entry[] = [];
  const others: [Entry[], Entry[], Entry[]] = [[], [], []];
  for (const e of entries) {
    const c = e.constraints.find((x) => x.key === key);
    if (c === undefined) {
      rest.push(e);
      continue;
    }
    const remaining = e.constraints.filter((x) => x !== c);
    constrained.push({ ...e, constraints: remaining });
    const established = c.conjunct >= 0 && c.conjunct < 31 ? e.established | (1 << c.conjunct) : e.established;
    const placed: Entry = { rule: e.rule, constraints: remaining, established };
    for (const v of c.values) {
      if (typeof v === "string") push(strings, v, placed);
      else if (typeof v === "number") push(numbers, v, placed);
      else (v ? trues : falses).push(placed);
    }
    if ((c.types & STRING_TYPE) === 0) others[0].push({ ...e, constraints: remaining });
    if ((c.types & NUMBER_TYPE) === 0) others[1].push({ ...e, constraints: remaining });
    if ((c.types & BOOLEAN_TYPE) === 0) others[2].push({ ...e, constraints: remaining });
  }
  const children = <K>(m: Map<K, Entry[]>): ReadonlyMap<K, IndexNode> | null => {
    if (m.size === 0) return null;
    const out = new Map<K, IndexNode>();
    for (const [v, list] of m) out.set(v, build(list, options));
    return out;
  };
  let byString: Record<string, IndexNode> | null = null;
  if (strings.size > 0) {
    byString = Object.create(null) as Record<string, IndexNode>;
    for (const [v, list] of strings) byString[v] = build(list, options);
  }
  return new IndexNode(
    EMPTY_PROBES,
    key,
    byString,
    children(numbers),
    trues.length > 0 ? build(trues, options) : null,
    falses.length > 0 ? build(falses, options) : null,
    probesOf(others[0]),
    probesOf(others[1]),
    probesOf(others[2]),
    probesOf(constrained),
    rest.length > 0 ? build(rest, options) : null,
    entries.length,
    entries.filter((e) => isDenyLike(e.rule)).length,
  );
}

function push<K>(m: Map<K, Entry[]>, k: K, e: Entry): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [e]);
  else list.push(e);
}

/**
 * The same string, internalised: V8 compares two internalised strings by pointer. A request's
 * string that has been a property key (a bucket or index lookup) is internalised in place, so the
 * policy's literals are kept internalised for the comparisons that follow.
 */
export function internalize(s: string): string {
  const o: Record<string, number> = Object.create(null);
  o[s] = 0;
  return Object.keys(o)[0] ?? s;
}

/* ---- tracing (tests) ------------------------------------------------------------------------ */

/** How a decision met the index; counted per path and key class by `IndexTrace`. */
export type IndexPath =
  /** A read value led to the rules that accept it. */
  | "value"
  /** A read value excluded rules that test for other values (a false conjunct). */
  | "skip"
  /** A value of a type some rules do not compare with: they are evaluated in full. */
  | "other-type"
  /** A missing or unusable attribute: every rule testing it is evaluated in full. */
  | "unreadable";

/** Counts of index paths by `path:keyClass`: how often, and how many deny-like rules each touched. */
export class IndexTrace {
  readonly counts = new Map<string, { times: number; rules: number; denyLike: number }>();

  add(path: IndexPath, keyClass: KeyClass, rules: number, denyLike: number): void {
    const k = `${path}:${keyClass}`;
    const e = this.counts.get(k) ?? { times: 0, rules: 0, denyLike: 0 };
    e.times++;
    e.rules += rules;
    e.denyLike += denyLike;
    this.counts.set(k, e);
  }

  unreadable(node: IndexNode): void {
    this.add("unreadable", node.key!.keyClass, node.unreadable.length, node.unreadable.filter((p) => isDenyLike(p.rule)).length);
  }

  lookup(node: IndexNode, child: IndexNode | null, others: readonly Probe[]): void {
    const cls = node.key!.keyClass;
    const constrained = node.unreadable;
    if (child !== null) this.add("value", cls, child.size, child.denyLike);
    if (others.length > 0) this.add("other-type", cls, others.length, others.filter((p) => isDenyLike(p.rule)).length);
    const skipped = constrained.length - (child?.size ?? 0) - others.length;
    const skippedDenyLike = constrained.filter((p) => isDenyLike(p.rule)).length - (child?.denyLike ?? 0) - others.filter((p) => isDenyLike(p.rule)).length;
    if (skipped > 0) this.add("skip", cls, skipped, skippedDenyLike);
  }
}

let activeTrace: IndexTrace | null = null;

/** Runs `fn` with every index walk counted into `trace` (for tests; not reentrant across traces). */
export function withIndexTrace<T>(trace: IndexTrace, fn: () => T): T {
  const before = activeTrace;
  activeTrace = trace;
  try {
    return fn();
  } finally {
    activeTrace = before;
  }
}
