import { actionPatternMatches } from "../runtime/glob.js";
import { keyText } from "../runtime/keys.js";
import { opUpdate, type Category, type OpUpdate } from "../runtime/operators.js";
import type { EvalContext } from "../runtime/context.js";
import type { Reason } from "../runtime/types.js";
import { runCheck } from "./checks.js";
import type { CompiledRule, CompiledRules } from "./generate.js";
import type { ExprIR, OpIR, PolicyIR } from "./ir.js";
import { buildIndex, DEFAULT_INDEX_OPTIONS, internalize, type IndexNode, type IndexOptions, type Placement } from "./rule-index.js";
import { hash32 } from "./hash.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { quote } from "../runtime/request.js";

/** Everything a decision on one action (or one observed signal) needs, found by one map lookup. */
export interface Bucket {
  readonly name: string;
  /** The candidate rules, indexed by what they test for equality (rule-index.ts). */
  readonly index: IndexNode;
  readonly high: boolean;
  /** Wildcard allow rules that a `[high]` action keeps out (for the explanation of a deny). */
  readonly highExcluded: readonly CompiledRule[];
  /** Attribute paths the bucket's rules read. */
  readonly watch: readonly string[];
  /** The paths of `watch` beyond the request's identity (context, principal and resource attributes): what a decision's digest reads. */
  readonly digestPaths: readonly { readonly root: "principal" | "resource" | "context"; readonly segments: readonly string[]; readonly text: string }[];
  /** The operators an event of this name feeds, per category, in op order. */
  readonly updates: Readonly<Record<Category, readonly OpUpdate[]>>;
  readonly hasLimits: boolean;
  /** The reasons of a default deny on this name (R312 for a [high] action reached only by wildcards, R313). */
  readonly denyReasons: readonly Reason[];
  /**
   * The key groups whose partitions a decision on this name reads or may write: its rules'
   * operators, limits, grants and labels, the operators its events feed, and the revocation keys
   * its revoke rules write. Sorted.
   */
  readonly reads: readonly number[];
  /** Revocation-holding groups (session, principal, `target` paths) a request reads only to check them. */
  readonly checks: readonly number[];
  /** Per group: whether a decision on this name may write its partition (the Guard serialises those). */
  readonly writable: readonly boolean[];
  /** False for an action the actions block does not declare (a closed world: R316). */
  readonly declared: boolean;
  /** For an undeclared action, the message of its R316 deny (with a did-you-mean, worked out once). */
  readonly undeclared: string;
  /** Where a decision's digest starts: the policy hash and this name, hashed. */
  readonly digestSeed: number;
}

const MEMO_LIMIT = 10_000;

/** A name with at least this many candidate rules (exact and wildcard) has its bucket built at compile time. */
const EAGER_RULES = 32;

/**
 * Stage: the action index. The names the policy mentions are known at compile time. The bucket of
 * a name with many candidate rules (EAGER_RULES) is built then; a small one is built the first time
 * a request or signal of that name comes, then kept, so a policy of 100,000 rules over 50,000
 * actions does not build 50,000 small indexes its traffic may never use. Other names (matched only by wildcards) are built on
 * first use too and memoised up to a bound, so a flood of made-up action names cannot grow memory.
 * Building a bucket reads nothing but the compiled policy, so when it is built never changes what
 * it holds.
 */
export class ActionIndex {
  /*
   * Dictionaries without a prototype rather than Maps: looking a request's name up as a property
   * key makes V8 internalise that string in place, so a request object reused by its caller is
   * found by pointer from then on, and later comparisons with the policy's (internalised) names
   * are pointer comparisons too.
   */
  private readonly actions: Record<string, Bucket> = Object.create(null);
  private readonly signals: Record<string, Bucket> = Object.create(null);
  private memoSize = 0;
  /** The names the policy mentions, whose buckets are kept without a bound once built. */
  private readonly actionNames: ReadonlySet<string>;
  private readonly signalNames: ReadonlySet<string>;
  private readonly highPatterns: readonly (readonly string[])[];

  /**
   * Rules (their places in `ir.rules`) by the exact names they target, and the rules with a
   * wildcard target (scanned per new name). A rule is compiled when a bucket that holds it is built.
   */
  private readonly exactRules = new Map<string, number[]>();
  private readonly exactSignalRules = new Map<string, number[]>();
  private readonly wildRules: number[] = [];
  private readonly wildSignalRules: number[] = [];
  private readonly exactOps = new Map<string, OpIR[]>();
  private readonly wildOps: OpIR[] = [];

  constructor(
    private readonly ir: PolicyIR,
    private readonly rules: CompiledRules,
    /** The policy hash, which every decision digest starts from. */
    private readonly policyHash = "",
    private readonly options: IndexOptions = DEFAULT_INDEX_OPTIONS,
  ) {
    this.highPatterns = ir.actions.filter((a) => a.high).map((a) => a.segments);
    const names = new Set<string>();
    const signalNames = new Set<string>();
    for (const a of ir.actions) if (!a.segments.includes("*")) names.add(a.name);
    const addExact = (map: Map<string, number[]>, name: string, r: number) => {
      const list = map.get(name);
      if (list === undefined) map.set(name, [r]);
      else if (list[list.length - 1] !== r) list.push(r);
    };
    ir.rules.forEach((r, i) => {
      let wild = false;
      let wildSignal = false;
      for (const p of r.actions) {
        if (p.includes("*")) wild = true;
        else {
          const n = p.join(".");
          names.add(n);
          addExact(this.exactRules, n, i);
        }
      }
      for (const p of r.signals) {
        if (p.includes("*")) wildSignal = true;
        else {
          const n = p.join(".");
          signalNames.add(n);
          addExact(this.exactSignalRules, n, i);
        }
      }
      if (wild) this.wildRules.push(i);
      if (wildSignal) this.wildSignalRules.push(i);
    });
    for (const op of ir.ops) {
      const patterns = selectorPatterns(op);
      if (op.op === "workflow" || (op.op === "distinct" && op.events === null) || patterns.some((p) => p.includes("*"))) {
        this.wildOps.push(op);
        continue;
      }
      for (const p of patterns) {
        const n = p.join(".");
        names.add(n);
        signalNames.add(n);
        const list = this.exactOps.get(n);
        if (list === undefined) this.exactOps.set(n, [op]);
        else if (!list.includes(op)) list.push(op);
      }
    }
    this.actionNames = names;
    this.signalNames = signalNames;
    // A bucket that may hold many rules is built now, so no request waits for it; a small one is
    // built when its name first comes, in microseconds.
    for (const n of names) if ((this.exactRules.get(n)?.length ?? 0) + this.wildRules.length >= EAGER_RULES) this.actions[n] = this.build(n, false);
    for (const n of signalNames) if ((this.exactSignalRules.get(n)?.length ?? 0) + this.wildSignalRules.length >= EAGER_RULES) this.signals[n] = this.build(n, true);
  }

  /**
   * The bucket of `name` when the policy mentions the name (built now if it was not yet) or it is
   * memoised; undefined for a name seen for the first time that only wildcards could match.
   */
  find(name: string): Bucket | undefined {
    return this.actions[name] ?? (this.actionNames.has(name) ? this.memo(this.actions, name, false, true) : undefined);
  }

  action(name: string): Bucket {
    return this.actions[name] ?? this.memo(this.actions, name, false, this.actionNames.has(name));
  }

  signal(name: string): Bucket {
    return this.signals[name] ?? this.memo(this.signals, name, true, this.signalNames.has(name));
  }

  /** Builds the bucket of `name` and keeps it: always for a name the policy mentions, else up to MEMO_LIMIT. */
  private memo(map: Record<string, Bucket>, name: string, signal: boolean, mentioned: boolean): Bucket {
    const b = this.build(name, signal);
    if (mentioned) map[name] = b;
    else if (this.memoSize < MEMO_LIMIT) {
      map[name] = b;
      this.memoSize++;
    }
    return b;
  }

  private build(name: string, signal: boolean): Bucket {
    const high = !signal && this.highPatterns.some((p) => actionPatternMatches(p, name));
    const candidates: CompiledRule[] = [];
    const highExcluded: CompiledRule[] = [];
    const ruleIRs = this.ir.rules;
    const exact = (signal ? this.exactSignalRules : this.exactRules).get(name) ?? [];
    const wild = (signal ? this.wildSignalRules : this.wildRules).filter((i) => !exact.includes(i) && (signal ? ruleIRs[i]!.signals : ruleIRs[i]!.actions).some((p) => actionPatternMatches(p, name)));
    // Source order, so explanations list rules as written (the decision itself never depends on it).
    for (const i of [...exact, ...wild].sort((a, b) => ruleIRs[a]!.index - ruleIRs[b]!.index)) {
      const r = this.rules.at(i);
      const patterns = signal ? r.ir.signals : r.ir.actions;
      // A [high] action is allowed only by a rule that names it, never through a wildcard.
      if (high && r.effect === "allow" && !patterns.some((p) => !p.includes("*") && p.join(".") === name)) {
        highExcluded.push(r);
        continue;
      }
      candidates.push(r);
    }
    // Conjuncts on the action's name or domain have one value for this name: a rule with a false one
    // can never match here; true ones need no evaluation.
    const placements: Placement[] = [];
    const here = { ev: { name, isSignal: signal } } as unknown as EvalContext;
    for (const r of candidates) {
      let established = 0;
      let never = false;
      r.conjuncts.forEach((x, i) => {
        if (!x.onAction) return;
        const o = runCheck(x.check, here);
        if (o === false) never = true;
        else if (o === true && i < 31) established |= 1 << i;
      });
      if (!never) placements.push({ rule: r, established });
    }
    const watch = new Set<string>();
    for (const r of candidates) for (const p of r.ir.reads) watch.add(p);
    const ops = [...(this.exactOps.get(name) ?? []), ...this.wildOps].sort((a, b) => a.index - b.index);
    const fed = (cat: Category, applies: boolean) => (applies ? ops.flatMap((op) => opUpdate(op, name, cat, this.ir.workflows) ?? []) : []);
    // One literal, so every bucket's `updates` has the same shape.
    const updates: Record<Category, OpUpdate[]> = { allowed: fed("allowed", !signal), denied: fed("denied", !signal), signal: fed("signal", signal) };
    const denyReasons: Reason[] = [];
    if (high && highExcluded.length > 0) {
      const ids = highExcluded.map((r) => r.id).join(", ");
      denyReasons.push(Object.freeze({ rule: null, effect: "deny" as const, code: "R312", message: `${name} is a [high] action: ${ids} allow${highExcluded.length === 1 ? "s" : ""} it only through a wildcard; a rule must name it` }));
    }
    denyReasons.push(Object.freeze({ rule: null, effect: "deny" as const, code: "R313", message: `no allow rule matched ${name}` }));
    const hasLimits = candidates.some((r) => r.ir.limit !== null || r.ir.grant !== null || r.ir.labels.length > 0);
    const { reads, checks, writable } = this.groupsOf(candidates, updates, signal);
    const declared = signal || !this.ir.hasActionsBlock || this.ir.actions.some((a) => actionPatternMatches(a.segments, name));
    return Object.freeze({
      index: buildIndex(placements, this.options),
      denyReasons: Object.freeze(denyReasons),
      name,
      high,
      highExcluded,
      watch: Object.freeze([...watch].sort()),
      digestPaths: Object.freeze(digestPathsOf([...watch].sort())),
      updates,
      hasLimits,
      reads,
      checks,
      writable,
      declared,
      undeclared: declared ? "" : undeclaredMessage(name, this.ir),
      digestSeed: hash32(`${this.policyHash}|${signal ? "signal " : ""}${name}`),
    });
  }

  /** Which key groups a decision on a bucket with these rules and updates reads and may write. */
  private groupsOf(candidates: readonly CompiledRule[], updates: Readonly<Record<Category, readonly OpUpdate[]>>, signal: boolean): { reads: number[]; checks: number[]; writable: boolean[] } {
    const ir = this.ir;
    const writable = new Array<boolean>(ir.keyGroups.length).fill(false);
    const reads = new Set<number>();
    for (const r of candidates) {
      for (const g of r.groups) {
        reads.add(g);
        // A read of state without a window extends its lifetime: a write.
        if (ir.keyGroups[g]!.lifetime) writable[g] = true;
      }
      for (const op of [r.ir.limit, r.ir.grant, r.ir.labelsOp]) if (op !== null) writable[ir.ops[op]!.group] = true;
      if (r.effect === "revoke") {
        // The key a revoke rule records: its target (the principal when the event lacks it) or the session.
        const targets = [ir.sessionGroup, ir.principalGroup];
        const t = r.ir.revokeTarget;
        if (t !== null && (t.kind === "path" || t.kind === "compound")) targets.push(ir.targetGroups[ir.revokeTargets.findIndex((k) => keyText(k) === keyText(t))]!);
        for (const g of targets) {
          reads.add(g);
          writable[g] = true;
        }
      }
    }
    for (const list of [updates.allowed, updates.denied, updates.signal]) {
      for (const u of list) {
        reads.add(u.group);
        writable[u.group] = true;
      }
    }
    const checks = signal ? [] : [ir.sessionGroup, ir.principalGroup, ...ir.targetGroups].filter((g, i, all) => !reads.has(g) && all.indexOf(g) === i);
    return { reads: [...reads].sort((a, b) => a - b), checks, writable };
  }
}

/** Why an action the actions block does not declare is denied, with the declared name it may have meant. */
function undeclaredMessage(name: string, ir: PolicyIR): string {
  const declared = ir.actions.filter((a) => !a.segments.includes("*")).map((a) => a.name);
  const lower = name.toLowerCase();
  const suggestion = declared.find((d) => d.toLowerCase() === lower) ?? didYouMean(name, declared);
  return `${quote(name)} is not a declared action: the policy's actions block does not list it, so no rule applies${suggestion ? `; did you mean ${suggestion}?` : ""}`;
}

const IDENTITY = new Set(["session", "principal.kind", "principal.id", "resource.path", "resource.id"]);

/** The attribute paths among `watch` that a decision's digest covers besides its identity fields. */
function digestPathsOf(watch: readonly string[]): Bucket["digestPaths"][number][] {
  const out: Bucket["digestPaths"][number][] = [];
  for (const text of watch) {
    if (IDENTITY.has(text)) continue;
    const [root, ...parts] = text.split(".");
    // Internalised, so that reading a request's property by a segment never looks the name up first.
    const segments = parts.map(internalize);
    if ((root === "principal" || root === "resource" || root === "context") && segments.length > 0) out.push({ root, segments, text });
  }
  return out;
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
