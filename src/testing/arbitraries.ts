import fc from "fast-check";
import type { PolicyFile, SchemaBlock, TypeExpr } from "../ast/nodes.js";
import type { PolicyIR } from "../compile/ir.js";
import type { Policy } from "../runtime/engine.js";
import type { Principal, Request, Resource, Signal } from "../runtime/types.js";
import { vocabularyOf, type AttributePool, type Vocabulary, type VocabularyValue } from "./vocabulary.js";

/** A request or a signal with its time: one line of a JSONL trace (`leash eval`). */
export type TraceEntry = (Request | Signal) & { readonly time: number };

/** What the arbitraries draw from: a compiled policy, its IR, or a vocabulary built by `vocabularyOf`. */
export type VocabularySource = Policy | PolicyIR | Vocabulary;

/** Options for `arbTrace`. */
export interface TraceOptions {
  /** Most groups of events in a trace (a group is one event, or a burst of one event repeated). Default 12. */
  readonly maxGroups?: number;
  /** Fewest groups. Default 1. */
  readonly minGroups?: number;
  /** Time of the first event, ms. Default 0. */
  readonly start?: number;
  /** Whether signals (`observe`) may appear. Default true when the policy names any. */
  readonly signals?: boolean;
  /** Whether a group may repeat its event (bursts that reach counts, limits and rates). Default true. */
  readonly bursts?: boolean;
  /**
   * Events to draw often (about half of them): the actions, principals and resource paths a
   * property is about, the signals its history operators read, and burst sizes around its count
   * thresholds. The rest of the trace still draws from the whole vocabulary.
   */
  readonly focus?: Partial<Pick<Vocabulary, "actions" | "principals" | "resourcePaths" | "signals" | "repeats">>;
}

/** Options for `arbRequest` and `arbSignal`. */
export interface EventOptions {
  /** The time every generated event carries, ms. Default 0. */
  readonly time?: number;
}

const MISSING = undefined;

function vocab(source: VocabularySource): Vocabulary {
  return "gaps" in source && "repeats" in source ? (source as Vocabulary) : vocabularyOf(source as Policy | PolicyIR);
}

/** An object holding some of the pooled attributes of one root (each left out now and then). */
function arbAttributes(pools: readonly AttributePool[], missingFreq = 8): fc.Arbitrary<Record<string, unknown>> {
  if (pools.length === 0) return fc.constant({});
  const parts = pools.map((p) => fc.option(fc.constantFrom(...p.values), { nil: MISSING, freq: missingFreq }));
  return fc.tuple(...parts).map((values) => {
    const out: Record<string, unknown> = {};
    values.forEach((v, i) => {
      if (v !== MISSING) setPath(out, pools[i]!.segments, v);
    });
    return out;
  });
}

function setPath(o: Record<string, unknown>, segments: readonly string[], v: VocabularyValue): void {
  let cur = o;
  for (let i = 0; i < segments.length - 1; i++) {
    const k = segments[i]!;
    const next = Object.prototype.hasOwnProperty.call(cur, k) ? cur[k] : undefined;
    if (next === null || typeof next !== "object" || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[segments[segments.length - 1]!] = Array.isArray(v) ? [...v] : v;
}

function pools(v: Vocabulary, root: AttributePool["root"]): AttributePool[] {
  return v.attributes.filter((a) => a.root === root);
}

/** A principal: a kind and id from the policy's selectors, with pooled attributes. */
export function arbPrincipal(source: VocabularySource): fc.Arbitrary<Principal> {
  const v = vocab(source);
  const named = v.principals.slice(0, v.namedPrincipals);
  const who = named.length > 0 && named.length < v.principals.length ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...named) }, { weight: 1, arbitrary: fc.constantFrom(...v.principals) }) : fc.constantFrom(...v.principals);
  return fc.tuple(who, arbAttributes(pools(v, "principal"))).map(([p, attrs]) => ({ ...attrs, kind: p.kind, id: p.id }));
}

/** A resource with a path matching (or missing) the policy's globs, and pooled attributes. */
export function arbResource(source: VocabularySource): fc.Arbitrary<Resource> {
  const v = vocab(source);
  return fc.tuple(fc.constantFrom(...v.resourcePaths), arbAttributes(pools(v, "resource"))).map(([path, attrs]) => ({ ...attrs, path }));
}

/**
 * A context object. From a policy: the attributes its conditions and keys read, with the literals
 * they are compared with and their neighbours, each sometimes missing. From a schema (a `schema`
 * block or a parsed file): every declared context field, values by type, optional fields sometimes
 * missing.
 */
export function arbContext(source: VocabularySource | SchemaBlock | PolicyFile): fc.Arbitrary<Record<string, unknown>> {
  if ("kind" in source && (source.kind === "SchemaBlock" || source.kind === "PolicyFile")) {
    const block = source.kind === "SchemaBlock" ? source : (source.items.find((i) => i.kind === "SchemaBlock") as SchemaBlock | undefined);
    const entity = block?.entities.find((e) => e.entity === "context");
    if (!entity) return fc.constant({});
    const fields = entity.fields.map((f) => {
      const value = arbOfType(f.type);
      return f.optional ? fc.option(value, { nil: MISSING, freq: 4 }) : value;
    });
    return fc.tuple(...fields).map((vals) => {
      const out: Record<string, unknown> = {};
      vals.forEach((x, i) => {
        if (x !== MISSING) out[entity.fields[i]!.name.value] = x;
      });
      return out;
    });
  }
  return arbAttributes(pools(vocab(source as VocabularySource), "context"));
}

function arbOfType(t: TypeExpr): fc.Arbitrary<unknown> {
  switch (t.kind) {
    case "EnumType":
      return fc.constantFrom(...t.values.map((v) => v.value));
    case "SetType":
      return fc.array(arbOfType(t.element), { maxLength: 3 });
    case "PrimType":
      switch (t.name) {
        case "string":
          return fc.constantFrom("a", "b", "c");
        case "number":
          return fc.constantFrom(0, 0.5, 1, 10, -1);
        case "bool":
          return fc.boolean();
        case "duration":
          return fc.constantFrom(0, 1000, 60_000, 3_600_000);
      }
  }
}

function clean<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

function emptyToUndefined(o: Record<string, unknown>): Record<string, unknown> | undefined {
  return Object.keys(o).length === 0 ? undefined : o;
}

/**
 * A random request built from the policy's own vocabulary: a principal its selectors name, an
 * action its rules, operators or actions block name, a resource path matching its globs (or not),
 * context values around the constants its conditions compare with, a session from a small pool.
 */
export function arbRequest(source: VocabularySource, options: EventOptions = {}): fc.Arbitrary<Request & { readonly time: number }> {
  const v = vocab(source);
  const time = options.time ?? 0;
  return fc
    .record({
      principal: arbPrincipal(v),
      action: fc.constantFrom(...v.actions),
      resource: fc.option(arbResource(v), { nil: MISSING, freq: 4 }),
      context: arbContext(v),
      session: fc.option(fc.constantFrom(...v.sessions), { nil: MISSING, freq: 6 }),
    })
    .map((r) => clean({ principal: r.principal, action: r.action, resource: r.resource, context: emptyToUndefined(r.context), session: r.session, time }));
}

/** A random signal (`observe`) named by the policy, with a principal, session and context from its vocabulary. */
export function arbSignal(source: VocabularySource, options: EventOptions = {}): fc.Arbitrary<Signal & { readonly time: number }> {
  const v = vocab(source);
  const time = options.time ?? 0;
  const names = v.signals.length > 0 ? v.signals : ["event.observed"];
  return fc
    .record({
      signal: fc.constantFrom(...names),
      principal: fc.option(arbPrincipal(v), { nil: MISSING, freq: 3 }),
      resource: fc.option(arbResource(v), { nil: MISSING, freq: 2 }),
      context: arbContext(v),
      session: fc.option(fc.constantFrom(...v.sessions), { nil: MISSING, freq: 6 }),
    })
    .map((s) => clean({ signal: s.signal, principal: s.principal, resource: s.resource, context: emptyToUndefined(s.context), session: s.session, time }));
}

/** Who acts in a trace: most events of a trace come from one of its few actors, so histories meet. */
interface Actor {
  readonly principal: Principal;
  readonly session: string | undefined;
  readonly context: Record<string, unknown>;
}

/** An event before it is placed: `focus` events keep their principal (the claim's). */
interface Draft {
  readonly event: Request | Signal;
  readonly focus: boolean;
  /** Index of the actor whose principal, session and context the event takes; null: its own. */
  readonly actor: number | null;
}

/** A group of a trace before times are assigned: an event, the gap before it, how often it repeats. */
interface Group {
  readonly gap: number;
  readonly draft: Draft;
  readonly repeat: number;
}

/**
 * A random trace: requests and signals with increasing times. Gaps between events are 0, w-1, w
 * and w+1 ms for every window and duration w in the policy (and one second), so every window
 * boundary is straddled; an event may repeat in a burst as often as the policy's counts, limits
 * and rates need; most events come from one to three actors (a principal with a session and a
 * context), so that what one does is seen by the histories of the next. Shrinks towards fewer,
 * non-repeated events one second apart.
 */
export function arbTrace(source: VocabularySource, options: TraceOptions = {}): fc.Arbitrary<TraceEntry[]> {
  const v = vocab(source);
  const withSignals = (options.signals ?? true) && v.signals.length > 0;
  const actorIndex = fc.oneof({ weight: 3, arbitrary: fc.nat(2) }, { weight: 1, arbitrary: fc.constant(null) });
  const draft = (event: fc.Arbitrary<Request | Signal>, focus: boolean): fc.Arbitrary<Draft> => fc.record({ event, actor: actorIndex }).map(({ event, actor }) => ({ event, actor, focus }));
  const bursts = (options.bursts ?? true) && v.repeats.some((r) => r > 1);
  const repeatFrom = (sizes: readonly number[], weight: number): fc.Arbitrary<number> => {
    const more = sizes.filter((r) => r > 1);
    return bursts && more.length > 0 ? fc.oneof({ weight, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(...more) }) : fc.constant(1);
  };
  // Half the gaps are short (one second or none), so histories meet; half sit on window edges.
  const short = v.gaps.filter((g) => g <= 1000);
  const edges = v.gaps.filter((g) => g > 1000);
  const gap = short.length > 0 && edges.length > 0 ? fc.oneof(fc.constantFrom(...short), fc.constantFrom(...edges)) : fc.constantFrom(...v.gaps);
  const groupOf = (d: fc.Arbitrary<Draft>, repeat: fc.Arbitrary<number>): fc.Arbitrary<Group> => fc.record({ gap, draft: d, repeat });

  const generalRepeat = repeatFrom(v.repeats, 2);
  const kinds: fc.WeightedArbitrary<Group>[] = [{ weight: 3, arbitrary: groupOf(draft(arbRequest(v), false), generalRepeat) }];
  if (withSignals) kinds.push({ weight: 2, arbitrary: groupOf(draft(arbSignal(v), false), generalRepeat) });
  const focus = options.focus;
  if (focus) {
    const pick = <T>(xs: readonly T[] | undefined, all: readonly T[]) => (xs !== undefined && xs.length > 0 ? xs : all);
    const focused: Vocabulary = { ...v, actions: pick(focus.actions, v.actions), principals: pick(focus.principals, v.principals), resourcePaths: pick(focus.resourcePaths, v.resourcePaths) };
    // Focused bursts repeat as often as the thresholds the focus names (a claim's counts).
    const focusRepeat = focus.repeats && focus.repeats.length > 0 ? repeatFrom(focus.repeats, 1) : generalRepeat;
    kinds.push({ weight: 3, arbitrary: groupOf(draft(arbRequest(focused), (focus.principals?.length ?? 0) > 0), focusRepeat) });
    if (focus.signals && focus.signals.length > 0) kinds.push({ weight: 2, arbitrary: groupOf(draft(arbSignal({ ...v, signals: focus.signals }), false), focusRepeat) });
  }
  const group: fc.Arbitrary<Group> = kinds.length === 1 ? kinds[0]!.arbitrary : fc.oneof(...kinds);
  const actor: fc.Arbitrary<Actor> = fc.record({
    principal: arbPrincipal(v),
    session: fc.option(fc.constantFrom(...v.sessions), { nil: MISSING, freq: 8 }),
    context: arbContext(v),
  });
  const start = options.start ?? 0;
  return fc
    .tuple(fc.array(actor, { minLength: 1, maxLength: 3 }), fc.array(group, { minLength: options.minGroups ?? 1, maxLength: options.maxGroups ?? 12 }))
    .map(([actors, groups]) => expandGroups(groups, actors, start));
}

/** The event as its actor does it: the actor's session and context, and its principal unless the event keeps its own. */
function place(d: Draft, actors: readonly Actor[]): Request | Signal {
  if (d.actor === null) return d.event;
  const a = actors[d.actor % actors.length]!;
  const e = d.event as unknown as Record<string, unknown>;
  const principal = d.focus || ("signal" in d.event && e.principal === undefined) ? e.principal : a.principal;
  return clean({ ...e, principal, session: a.session, context: emptyToUndefined(a.context) }) as unknown as Request | Signal;
}

/** Lays groups out in time: each event `gap` ms after the previous one (the first at `start`). */
function expandGroups(groups: readonly Group[], actors: readonly Actor[], start: number): TraceEntry[] {
  const out: TraceEntry[] = [];
  let t = start;
  for (const g of groups) {
    const event = place(g.draft, actors);
    for (let i = 0; i < g.repeat; i++) {
      if (out.length > 0) t += g.gap;
      out.push({ ...event, time: t } as TraceEntry);
    }
  }
  return out;
}
