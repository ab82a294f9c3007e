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

async function loadLeash(): Promise<LeashApi> {
  return (await import(await leashModuleUrl())) as LeashApi;
}

export interface SequenceRow {
  suite: "sequence";
  engine: "leash" | "hand-written";
  rules: number;
  keys: number;
  opsPerSec: number;
  stateBytesPerKey: number | null;
  agree: boolean;
}

const ACTIONS = 10;
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

/** The ceiling: the same rules written by hand over mutable per-session records. */
class HandWrittenMonitor {
  private readonly sessions = new Map<string, { last: Float64Array; ring: number[][]; best0: Float64Array; best1: Float64Array }>();
  private readonly byTarget: RuleSpec[][] = Array.from({ length: ACTIONS }, () => []);
  private readonly seqRules: RuleSpec[];
  constructor(private readonly rules: RuleSpec[]) {
    for (const r of rules) this.byTarget[r.target]!.push(r);
    this.seqRules = rules.filter((r) => r.kind === "sequence");
  }
  decide(session: string, action: number, now: number): { effect: string; flags: string[] } {
    let s = this.sessions.get(session);
    if (!s) {
      s = { last: new Float64Array(ACTIONS).fill(NaN), ring: Array.from({ length: ACTIONS }, () => []), best0: new Float64Array(RULES).fill(NaN), best1: new Float64Array(RULES).fill(NaN) };
      this.sessions.set(session, s);
    }
    let deny = false;
    let challenge = false;
    const flags: string[] = [];
    for (const r of this.byTarget[action]!) {
      if (r.kind === "count") {
        let n = 0;
        for (const t of s.ring[r.a]!) if (now - t < r.window) n++;
        if (n >= r.threshold) deny = true;
      } else if (r.kind === "after") {
        const l = s.last[r.a]!;
        if (l === l && now - l < r.window) flags.push(r.id);
      } else if (r.kind === "gap") {
        const l = s.last[r.a]!;
        if (l === l && now - l < r.window) flags.push(r.id);
      } else {
        const b = s.best1[r.index]!;
        if (b === b && now - b < r.window) challenge = true;
      }
    }
    const effect = deny ? "deny" : challenge ? "challenge" : "allow";
    if (effect === "allow") {
      s.last[action] = now;
      const ring = s.ring[action]!;
      ring.push(now);
      if (ring.length > 8) ring.shift();
      for (const r of this.seqRules) {
        const i = r.index;
        if (action === r.b) {
          const b0 = s.best0[i]!;
          if (b0 === b0 && now - b0 < r.window) s.best1[i] = s.best1[i]! === s.best1[i]! ? Math.max(s.best1[i]!, b0) : b0;
        }
        if (action === r.a) s.best0[i] = now;
      }
    }
    // Rules are visited in policy order per target, so the flags are already in id order.
    return { effect, flags };
  }
}

function requests(n: number, keys: number): { session: string; action: number; time: number }[] {
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out = [];
  let time = 0;
  for (let i = 0; i < n; i++) {
    time += Math.floor(rand() * 6);
    out.push({ session: `s${Math.floor(rand() * keys)}`, action: Math.floor(rand() * ACTIONS), time });
  }
  return out;
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
  const reqs = requests(quick ? 100_000 : 400_000, keys);
  const principal = { kind: "agent", id: "bench" };

  // Agreement on the whole trace first.
  const hand = new HandWrittenMonitor(specs());
  let state: PolicyState = policy.initialState();
  let agree = true;
  for (const r of reqs) {
    const d = policy.decide(state, { principal, action: `op${r.action}.run`, session: r.session, time: r.time });
    state = d.state;
    const h = hand.decide(r.session, r.action, r.time);
    if (d.decision.effect !== h.effect || sortIds(d.decision.flags).join() !== h.flags.join()) {
      agree = false;
      break;
    }
  }
  const bytesPerKey = Math.round(JSON.stringify(state).length / Math.max(1, state.size));

  const actions = Array.from({ length: ACTIONS }, (_, i) => `op${i}.run`);
  const timeLeash = (): number => {
    let s = policy.initialState();
    const t0 = performance.now();
    for (const r of reqs) s = policy.decide(s, { principal, action: actions[r.action]!, session: r.session, time: r.time }).state;
    return reqs.length / ((performance.now() - t0) / 1000);
  };
  const timeHand = (): number => {
    const m = new HandWrittenMonitor(specs());
    const t0 = performance.now();
    for (const r of reqs) m.decide(r.session, r.action, r.time);
    return reqs.length / ((performance.now() - t0) / 1000);
  };
  const median = (f: () => number, runs: number) => {
    const xs = Array.from({ length: runs }, f).sort((a, b) => a - b);
    return Math.round(xs[Math.floor(runs / 2)]!);
  };
  timeLeash();
  timeHand();
  const runs = quick ? 3 : 5;
  return [
    { suite: "sequence", engine: "leash", rules: RULES, keys, opsPerSec: median(timeLeash, runs), stateBytesPerKey: bytesPerKey, agree },
    { suite: "sequence", engine: "hand-written", rules: RULES, keys, opsPerSec: median(timeHand, runs), stateBytesPerKey: null, agree },
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

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await sequenceBench(process.argv.includes("--quick"))) console.log(JSON.stringify(row));
  console.log(JSON.stringify({ suite: "sequence-state", events: 1000, bytes: await stateBytesAfter(1000) }));
  console.log(JSON.stringify({ suite: "sequence-state", events: 1_000_000, bytes: await stateBytesAfter(1_000_000) }));
}
