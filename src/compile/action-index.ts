import { actionPatternMatches } from "../runtime/glob.js";
import { inAlphabet, selectorMatches, type Category } from "../runtime/operators.js";
import type { CompiledRule } from "./generate.js";
import type { OpIR, PolicyIR } from "./ir.js";

/** Everything a decision on one action (or one observed signal) needs, found by one map lookup. */
export interface Bucket {
  readonly name: string;
  /** Rules whose principal selectors all name exact ids, by id: narrows many-principal policies. */
  readonly byId: ReadonlyMap<string, readonly CompiledRule[]> | null;
  readonly general: readonly CompiledRule[];
  readonly high: boolean;
  /** Wildcard allow rules that a `[high]` action keeps out (for the explanation of a deny). */
  readonly highExcluded: readonly CompiledRule[];
  /** Attribute paths the bucket's rules read. */
  readonly watch: readonly string[];
  readonly updates: Readonly<Record<Category, readonly OpIR[]>>;
  readonly hasLimits: boolean;
}

const MEMO_LIMIT = 10_000;

/**
 * Stage: the action index. Buckets for every name the policy mentions are built at compile time;
 * other names (matched only by wildcards) are built on first use and memoised up to a bound, so a
 * flood of made-up action names cannot grow memory.
 */
export class ActionIndex {
  private readonly actions = new Map<string, Bucket>();
  private readonly signals = new Map<string, Bucket>();
  private memoSize = 0;
  private readonly highPatterns: readonly (readonly string[])[];

  constructor(
    private readonly ir: PolicyIR,
    private readonly rules: readonly CompiledRule[],
  ) {
    this.highPatterns = ir.actions.filter((a) => a.high).map((a) => a.segments);
    const names = new Set<string>();
    const signalNames = new Set<string>();
    for (const a of ir.actions) if (!a.segments.includes("*")) names.add(a.name);
    for (const r of ir.rules) {
      for (const p of r.actions) if (!p.includes("*")) names.add(p.join("."));
      for (const p of r.signals) if (!p.includes("*")) signalNames.add(p.join("."));
    }
    for (const op of ir.ops) for (const p of selectorPatterns(op)) if (!p.includes("*")) (names.add(p.join(".")), signalNames.add(p.join(".")));
    for (const n of names) this.actions.set(n, this.build(n, false));
    for (const n of signalNames) this.signals.set(n, this.build(n, true));
  }

  action(name: string): Bucket {
    return this.actions.get(name) ?? this.memo(this.actions, name, false);
  }

  signal(name: string): Bucket {
    return this.signals.get(name) ?? this.memo(this.signals, name, true);
  }

  private memo(map: Map<string, Bucket>, name: string, signal: boolean): Bucket {
    const b = this.build(name, signal);
    if (this.memoSize < MEMO_LIMIT) {
      map.set(name, b);
      this.memoSize++;
    }
    return b;
  }

  private build(name: string, signal: boolean): Bucket {
    const high = !signal && this.highPatterns.some((p) => actionPatternMatches(p, name));
    const candidates: CompiledRule[] = [];
    const highExcluded: CompiledRule[] = [];
    for (const r of this.rules) {
      const patterns = signal ? r.ir.signals : r.ir.actions;
      if (!patterns.some((p) => actionPatternMatches(p, name))) continue;
      // A [high] action is allowed only by a rule that names it, never through a wildcard.
      if (high && r.effect === "allow" && !patterns.some((p) => !p.includes("*") && p.join(".") === name)) {
        highExcluded.push(r);
        continue;
      }
      candidates.push(r);
    }
    let byId: Map<string, CompiledRule[]> | null = null;
    const general: CompiledRule[] = [];
    for (const r of candidates) {
      const sels = r.ir.principals;
      if (sels.length > 0 && sels.every((s) => s.id !== null && !s.id.includes("*"))) {
        byId ??= new Map();
        for (const id of new Set(sels.map((s) => s.id!))) {
          const list = byId.get(id);
          if (list) list.push(r);
          else byId.set(id, [r]);
        }
      } else general.push(r);
    }
    const watch = new Set<string>();
    for (const r of candidates) for (const p of r.ir.reads) watch.add(p);
    const updates = {} as Record<Category, OpIR[]>;
    for (const cat of signal ? (["signal"] as const) : (["allowed", "denied"] as const)) {
      updates[cat] = this.ir.ops.filter((op) => opSees(op, name, cat, this.ir));
    }
    if (signal) updates.allowed = updates.denied = [];
    else updates.signal = [];
    return Object.freeze({
      name,
      byId,
      general,
      high,
      highExcluded,
      watch: Object.freeze([...watch].sort()),
      updates,
      hasLimits: candidates.some((r) => r.ir.limit !== null || r.ir.grant !== null || r.ir.labels.length > 0),
    });
  }
}

/** Whether an event of this name and category feeds the operator. */
function opSees(op: OpIR, name: string, cat: Category, ir: PolicyIR): boolean {
  switch (op.op) {
    case "after":
      return selectorMatches(op.events, name, cat) || (op.until !== null && selectorMatches(op.until, name, cat));
    case "since":
    case "gap":
    case "count":
    case "rate":
    case "regularity":
      return selectorMatches(op.events, name, cat);
    case "distinct":
      return op.events === null ? cat !== "denied" : selectorMatches(op.events, name, cat);
    case "sequence":
      return op.stages.some((s) => selectorMatches(s, name, cat)) || (op.until !== null && selectorMatches(op.until, name, cat));
    case "workflow":
      return cat !== "denied" && inAlphabet(ir.workflows[op.workflow]!, name);
    default:
      return false;
  }
}

function selectorPatterns(op: OpIR): readonly (readonly string[])[] {
  switch (op.op) {
    case "after":
      return [...op.events.patterns, ...(op.until?.patterns ?? [])];
    case "since":
    case "gap":
    case "count":
    case "rate":
    case "regularity":
      return op.events.patterns;
    case "distinct":
      return op.events?.patterns ?? [];
    case "sequence":
      return [...op.stages.flatMap((s) => s.patterns), ...(op.until?.patterns ?? [])];
    default:
      return [];
  }
}
