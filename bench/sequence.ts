/**
 * Sequence suite: 50 sequence rules over 1,000 session keys, decisions per second including the
 * state update, and JSON bytes of state per key. The ceiling is a hand-written, mutable JS monitor
 * of the same 50 rules; both must return the same effect and flags for every request.
 *
 * leash is the tsup bundle users get (see leash-build.ts), as in the scope suite.
 */
import type { PolicyState } from "../src/index.js";
import { leashModuleUrl } from "./leash-build.js";
import type { LeashApi } from "./scope-engines.js";
import { childSuite, ratio, sessionTrace } from "./suite.js";

async function loadLeash(): Promise<LeashApi> {
  return (await import(await leashModuleUrl())) as LeashApi;
}

export interface SequenceRow {
  suite: "sequence";
  engine: "leash" | "hand-written" | "hand-written, immutable state";
  rules: number;
  keys: number;
  opsPerSec: number;
  /** Decisions per second of this process's CPU time (median run): steadier than wall-clock rates on a shared machine. */
  opsPerCpuSec: number;
  stateBytesPerKey: number | null;
  /** leash: JSON bytes of a one-key state after 1,000 and after 1,000,000 events on that key (equal: constant size). */
  stateBytesAfter1k?: number;
  stateBytesAfter1M?: number;
  agree: boolean;
}

const ACTIONS = 10;
/** An empty register slot of the hand-written monitors: no window reaches back to it. */
const EMPTY = -1e21;
const RULES = 50;

interface RuleSpec {
  kind: "count" | "after" | "gap" | "sequence";
  id: string;
  /** Position in the policy (the number in the id). */
  index: number;
  target: number;
  a: number;
  b: number;
  window: number;
  threshold: number;
}

function specs(): RuleSpec[] {
  const out: RuleSpec[] = [];
  for (let i = 0; i < RULES; i++) {
    const target = i % ACTIONS;
    switch (i % 4) {
      case 0:
        out.push({ kind: "count", id: `s${i}`, index: i, target, a: (i + 1) % ACTIONS, b: 0, window: (5 + (i % 5)) * 1000, threshold: 3 + (i % 4) });
        break;
      case 1:
        out.push({ kind: "after", id: `s${i}`, index: i, target, a: (i + 3) % ACTIONS, b: 0, window: (10 + i) * 1000, threshold: 0 });
        break;
      case 2:
        out.push({ kind: "gap", id: `s${i}`, index: i, target, a: target, b: 0, window: 100 + i, threshold: 0 });
        break;
      default:
        out.push({ kind: "sequence", id: `s${i}`, index: i, target, a: (i + 1) % ACTIONS, b: (i + 2) % ACTIONS, window: 20_000, threshold: 0 });
    }
  }
  return out;
}

export function sequencePolicySource(): string {
  const lines = ["rule base: allow *"];
  for (const s of specs()) {
    const t = `op${s.target}.run`;
    if (s.kind === "count") lines.push(`rule ${s.id}: deny ${t} when count(op${s.a}.run by session within ${s.window / 1000}s) >= ${s.threshold}`);
    if (s.kind === "after") lines.push(`rule ${s.id}: flag ${t} when after(op${s.a}.run by session within ${s.window / 1000}s)`);
    if (s.kind === "gap") lines.push(`rule ${s.id}: flag ${t} when gap(op${s.a}.run by session) < ${s.window}ms`);
    if (s.kind === "sequence") lines.push(`rule ${s.id}: challenge ${t} when sequence(op${s.a}.run, op${s.b}.run by session within 20s)`);
  }
  return lines.join("\n");
}

/**
 * Never written: new flag lists are copies of it, not literals (the reason is given at FrozenState).
 * It once held a string, so its copies can take strings without an elements-kind transition.
 */
const NO_FLAGS: string[] = [""];
NO_FLAGS.pop();

/** What the hand-written rules decide (a class for the reason given at FrozenState). */
class Judgement {
  constructor(
    readonly effect: string,
    readonly flags: string[],
  ) {}
}

/**
 * The same rules written by hand over one flat register array per session: the latest time of each
 * action, the last 8 times of each action (oldest first), and per sequence rule the start of its
 * newest partial and complete match. An empty slot holds `EMPTY`, a time so far back that no window
 * reaches it. `judge` reads, `write` records an allowed action.
 */
class HandWrittenRules {
  static readonly RING = 8;
  readonly width: number;
  private readonly byTarget: RuleSpec[][] = Array.from({ length: ACTIONS }, () => []);
  private readonly seqRules: RuleSpec[];
  /** Register of sequence rule `index`: two slots from seqSlot[index]. */
  private readonly seqSlot = new Int32Array(RULES);

  constructor(rules: RuleSpec[]) {
    for (const r of rules) this.byTarget[r.target]!.push(r);
    this.seqRules = rules.filter((r) => r.kind === "sequence");
    let slot = ACTIONS * (1 + HandWrittenRules.RING);
    for (const r of this.seqRules) {
      this.seqSlot[r.index] = slot;
      slot += 2;
    }
    this.width = slot;
  }

  empty(): number[] {
    return new Array<number>(this.width).fill(EMPTY);
  }

  judge(s: ArrayLike<number>, action: number, now: number): Judgement {
    let deny = false;
    let challenge = false;
    const flags = NO_FLAGS.slice();
    for (const r of this.byTarget[action]!) {
      if (r.kind === "count") {
        let n = 0;
        const ring = ACTIONS + r.a * HandWrittenRules.RING;
        for (let i = 0; i < HandWrittenRules.RING; i++) {
          const t = s[ring + i]!;
          if (t === EMPTY) break;
          if (now - t < r.window) n++;
        }
        if (n >= r.threshold) deny = true;
      } else if (r.kind === "after" || r.kind === "gap") {
        if (now - s[r.a]! < r.window) flags.push(r.id);
      } else {
        if (now - s[this.seqSlot[r.index]! + 1]! < r.window) challenge = true;
      }
    }
    // Rules are visited in policy order per target, so the flags are already in id order.
    return new Judgement(deny ? "deny" : challenge ? "challenge" : "allow", flags);
  }

  /** Records an allowed `action` at `now` in `s` (in place). */
  write(s: number[] | Float64Array, action: number, now: number): void {
    s[action] = now;
    const ring = ACTIONS + action * HandWrittenRules.RING;
    let filled = 0;
    while (filled < HandWrittenRules.RING && s[ring + filled] !== EMPTY) filled++;
    if (filled === HandWrittenRules.RING) {
      for (let i = 1; i < filled; i++) s[ring + i - 1] = s[ring + i]!;
      filled--;
    }
    s[ring + filled] = now;
    for (const r of this.seqRules) {
      const at = this.seqSlot[r.index]!;
      if (action === r.b) {
        const b0 = s[at]!;
        if (now - b0 < r.window) s[at + 1] = Math.max(s[at + 1]!, b0);
      }
      if (action === r.a) s[at] = now;
    }
  }
}

/** The ceiling: the hand-written rules over mutable per-session registers, written in place. */
class HandWrittenMonitor {
  private readonly sessions = new Map<string, Float64Array>();
  private readonly rules: HandWrittenRules;
  constructor(specs: RuleSpec[]) {
    this.rules = new HandWrittenRules(specs);
  }
  decide(session: string, action: number, now: number): { effect: string; flags: string[] } {
    let s = this.sessions.get(session);
    if (!s) {
      s = new Float64Array(this.rules.width).fill(EMPTY);
      this.sessions.set(session, s);
    }
    const d = this.rules.judge(s, action, now);
    if (d.effect === "allow") this.rules.write(s, action, now);
    return d;
  }
}

/**
 * The hand-written rules over immutable, JSON-serialisable state, as leash keeps it: a decision
 * returns a new state and leaves the old one valid. Sessions sit in a path-copying trie of
 * 32-slot arrays (two levels over a 32-bit FNV-1a hash, leaves `[key, registers, ...]`); a write
 * copies the session's registers and the path to it. What it costs over the mutable ceiling is
 * the price of immutable state alone.
 */
class ImmutableHandWrittenMonitor {
  private readonly rules: HandWrittenRules;
  private readonly none: number[];
  constructor(specs: RuleSpec[]) {
    this.rules = new HandWrittenRules(specs);
    this.none = this.rules.empty();
  }
  decide(state: ImmutableState, session: string, action: number, now: number): { effect: string; flags: string[]; state: ImmutableState } {
    let h = 0x811c9dc5;
    for (let i = 0; i < session.length; i++) h = Math.imul(h ^ session.charCodeAt(i), 0x01000193);
    const top = h & 31;
    const mid = (h >>> 5) & 31;
    const node = state.root === null ? null : state.root[top];
    const leaf = node == null ? null : node[mid];
    let at = -1;
    if (leaf != null) for (let i = 0; i < leaf.length; i += 2) if (leaf[i] === session) at = i;
    const regs = at < 0 ? this.none : (leaf![at + 1] as number[]);
    const d = this.rules.judge(regs, action, now);
    if (d.effect !== "allow") return new FrozenResult(d.effect, d.flags, state);
    const next = regs.slice();
    this.rules.write(next, action, now);
    // Copied by slice, never built from a literal: V8 may allocate a literal's objects straight into
    // the old generation once many of them live long, and an old leaf keeps the registers it points
    // to alive after a newer version replaced them (leash's partitions are class instances for this).
    const newLeaf = (leaf ?? NO_LEAF).slice();
    if (at < 0) newLeaf.push(session, next);
    else newLeaf[at + 1] = next;
    const newNode = node == null ? new Array<Leaf | null>(32).fill(null) : node.slice();
    newNode[mid] = newLeaf;
    const newRoot = state.root === null ? new Array<Leaf[] | null>(32).fill(null) : state.root.slice();
    newRoot[top] = newNode;
    return new FrozenResult(d.effect, d.flags, new FrozenState(newRoot, state.size + (at < 0 ? 1 : 0)));
  }
}

/**
 * State and result of the immutable monitor, built by constructors as leash builds its own (see
 * src/runtime/values.ts: V8 may pretenure an object literal's allocation site, and an old state then
 * keeps the young trie path it points to alive through young-generation collections).
 */
class FrozenState implements ImmutableState {
  constructor(
    readonly root: readonly ((Leaf | null)[] | null)[] | null,
    readonly size: number,
  ) {}
}

class FrozenResult {
  constructor(
    readonly effect: string,
    readonly flags: string[],
    readonly state: ImmutableState,
  ) {}
}

type Leaf = (string | number[])[];
const NO_LEAF: Leaf = [];
interface ImmutableState {
  readonly root: readonly ((Leaf | null)[] | null)[] | null;
  readonly size: number;
}

function sortIds(ids: readonly string[]): string[] {
  return [...ids].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));
}

/** Runs the suite; `quick` shortens the timed run. */
export async function sequenceBench(quick = false): Promise<SequenceRow[]> {
  const { compilePolicy } = await loadLeash();
  const keys = 1000;
  const { policy, diagnostics } = compilePolicy(sequencePolicySource(), { file: "bench-sequence.rules" });
  if (!policy) throw new Error(`sequence bench policy does not compile: ${diagnostics.map((d) => d.message).join("; ")}`);
  // Request times are epoch milliseconds, as a runtime sends them: numbers beyond V8's small-integer
  // range, so every time a decision stores in an object is a heap number (a trace starting at 0 made
  // leash's figure 5–15% higher than this).
  const reqs = sessionTrace(quick ? 100_000 : 400_000, keys, ACTIONS);
  const principal = { kind: "agent", id: "bench" };

  // Agreement on the whole trace first.
  const hand = new HandWrittenMonitor(specs());
  const frozen = new ImmutableHandWrittenMonitor(specs());
  let state: PolicyState = policy.initialState();
  let frozenState: ImmutableState = new FrozenState(null, 0);
  let agree = true;
  let frozenAgree = true;
  for (const r of reqs) {
    const d = policy.decide(state, { principal, action: `op${r.action}.run`, session: r.session, time: r.time });
    state = d.state;
    const h = hand.decide(r.session, r.action, r.time);
    const f = frozen.decide(frozenState, r.session, r.action, r.time);
    frozenState = f.state;
    if (d.decision.effect !== h.effect || sortIds(d.decision.flags).join() !== h.flags.join()) agree = false;
    if (f.effect !== h.effect || f.flags.join() !== h.flags.join()) frozenAgree = false;
    if (!agree || !frozenAgree) break;
  }
  const bytesPerKey = Math.round(JSON.stringify(state).length / Math.max(1, state.size));

  const actions = Array.from({ length: ACTIONS }, (_, i) => `op${i}.run`);
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  /** One run of `loop`: [decisions per wall-clock second, decisions per CPU second]. */
  const rate = (loop: () => void): [number, number] => {
    const c0 = cpuMs();
    const t0 = performance.now();
    loop();
    const wall = performance.now() - t0;
    const cpu = cpuMs() - c0;
    return [reqs.length / (wall / 1000), reqs.length / (Math.max(cpu, 1e-3) / 1000)];
  };
  const timeLeash = () =>
    rate(() => {
      let s = policy.initialState();
      for (const r of reqs) s = policy.decide(s, { principal, action: actions[r.action]!, session: r.session, time: r.time }).state;
    });
  const timeHand = () =>
    rate(() => {
      const m = new HandWrittenMonitor(specs());
      for (const r of reqs) m.decide(r.session, r.action, r.time);
    });
  const timeFrozen = () =>
    rate(() => {
      const m = new ImmutableHandWrittenMonitor(specs());
      let s: ImmutableState = new FrozenState(null, 0);
      for (const r of reqs) s = m.decide(s, r.session, r.action, r.time).state;
    });
  const median = (xs: number[]) => Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const runs = quick ? 3 : 5;
  // Interleaved, so that load on a shared machine falls on every engine alike.
  const got: [number, number][][] = [[], [], []];
  timeLeash();
  timeHand();
  timeFrozen();
  for (let i = 0; i < runs; i++) {
    got[0]!.push(timeLeash());
    got[1]!.push(timeHand());
    got[2]!.push(timeFrozen());
  }
  const wallOf = (k: number) => median(got[k]!.map((x) => x[0]));
  const cpuOf = (k: number) => median(got[k]!.map((x) => x[1]));
  const frozenBytes = Math.round(JSON.stringify(frozenState).length / Math.max(1, frozenState.size));
  return [
    {
      suite: "sequence",
      engine: "leash",
      rules: RULES,
      keys,
      opsPerSec: wallOf(0),
      opsPerCpuSec: cpuOf(0),
      stateBytesPerKey: bytesPerKey,
      stateBytesAfter1k: await stateBytesAfter(1000),
      stateBytesAfter1M: await stateBytesAfter(1_000_000),
      agree,
    },
    { suite: "sequence", engine: "hand-written", rules: RULES, keys, opsPerSec: wallOf(1), opsPerCpuSec: cpuOf(1), stateBytesPerKey: null, agree },
    { suite: "sequence", engine: "hand-written, immutable state", rules: RULES, keys, opsPerSec: wallOf(2), opsPerCpuSec: cpuOf(2), stateBytesPerKey: frozenBytes, agree: frozenAgree },
  ];
}

/**
 * Bytes of state for one key after `events` events on it (the constant-size check). The rules are
 * turned into flags so every event is recorded and every register fills to its bound; timestamps
 * keep the same number of digits throughout.
 */
export async function stateBytesAfter(events: number): Promise<number> {
  const { compilePolicy } = await loadLeash();
  const { policy } = compilePolicy(sequencePolicySource().replace(/: (deny|challenge) /g, ": flag "));
  let s = policy!.initialState();
  for (let i = 0; i < events; i++) s = policy!.decide(s, { principal: { kind: "agent", id: "bench" }, action: `op${i % ACTIONS}.run`, session: "only", time: 1_000_000_000_000 + i * 7 }).state;
  return JSON.stringify(s).length;
}

/**
 * leash against the immutable hand-written monitor in the same run, by wall-clock and by CPU-time
 * rates (target: at least 0.6).
 */
export function sequenceRatios(rows: readonly SequenceRow[]): { suite: "sequence"; ratio: string; value: number }[] {
  const leash = rows.find((r) => r.engine === "leash");
  const frozen = rows.find((r) => r.engine === "hand-written, immutable state");
  if (leash === undefined || frozen === undefined) return [];
  return [
    { suite: "sequence", ratio: "leash / hand-written, immutable state (wall clock)", value: ratio(leash.opsPerSec, frozen.opsPerSec) },
    { suite: "sequence", ratio: "leash / hand-written, immutable state (CPU time)", value: ratio(leash.opsPerCpuSec, frozen.opsPerCpuSec) },
  ];
}

/**
 * Runs the suite in a child process (same loader flags as this one), as the scope suite runs each
 * case: what earlier suites left in the heap and in the JIT's feedback does not colour the figures.
 * (After the scope and parse suites in one process, every engine of this suite measured 15–35%
 * slower in the runs of 2026-11-28.)
 */
export const sequenceBenchInChild = childSuite(import.meta.url, "sequence suite", sequenceBench, sequenceRatios);
