/**
 * Guard suite: `guard.decide` over a store, with the sequence suite's 50 rules over 1,000 session
 * keys, at concurrency 1 and 64, beside the pure `policy.decide` on the same requests (what the
 * Guard adds is the difference). Rows:
 *
 *   {"suite":"guard","store":"memory","rules":50,"keys":1000,"concurrency":1,"opsPerSec":..,"p50Us":..,"p99Us":..}
 *
 * Each store of `STORES` gives rows for both concurrencies; a store is a name and a factory. The
 * Redis rows (`redis`, `redis-cluster`, `redis-baseline`) come from bench/guard-redis.ts, which
 * starts its own servers. leash is the tsup bundle users get (see leash-build.ts). Run alone:
 * `npx tsx bench/guard.ts [--quick]`.
 */
import type { Guard, GuardOptions, Policy, PolicyState, Store } from "../src/index.js";
import { leashModuleUrl } from "./leash-build.js";
import { median } from "./measure.js";
import { sequencePolicySource } from "./sequence.js";
import { childSuite, drive, percentiles, ratio, sessionTrace, type TracedRequest } from "./suite.js";

/** A row of the guard suite: the in-process rows here, the Redis rows of bench/guard-redis.ts. */
export interface GuardRow {
  suite: "guard";
  engine: "leash";
  /**
   * The store the Guard held its state in (`memory`, `redis`, `redis-cluster`); `none (pure
   * decide)` is `policy.decide` threading a state, `redis-baseline` one raw script round trip per
   * request.
   */
  store: string;
  rules: number;
  keys: number;
  concurrency: number;
  /** Decisions per second (the Redis rows: median of the rounds' rates). */
  opsPerSec: number;
  /** Decisions per second of this process's CPU time (median run; the Redis rows: of the client's CPU time): steadier than wall-clock rates on a shared machine. */
  opsPerCpuSec: number;
  p50Us: number;
  p99Us: number;
  /** In-process rows: the Guard gave the pure decide's effect and flags on the whole trace. */
  agree?: boolean;
  /** Redis rows: this process's CPU time per decision (µs, median of the rounds): what the client side costs. */
  clientCpuUsPerOp?: number;
  /** Redis rows: the Redis servers' CPU time per decision (µs, all nodes, median of the rounds, from INFO cpu). */
  serverCpuUsPerOp?: number;
  /** Redis rows: decisions (or baseline round trips) timed, over all rounds. */
  ops?: number;
}

interface Leash {
  compilePolicyOrThrow(source: string, options?: { file?: string }): Policy;
  createGuard(options: GuardOptions): Guard;
  memoryStore(options?: { maxKeys?: number }): Store;
}

/** The stores measured here: a name for the rows and a factory for a fresh, empty store. */
export const STORES: readonly { readonly name: string; readonly make: (leash: Leash) => Store }[] = [{ name: "memory", make: (leash) => leash.memoryStore() }];

const KEYS = 1000;
const RULES = 50;
const ACTIONS = 10;
const principal = { kind: "agent", id: "bench" };
const actionNames = Array.from({ length: ACTIONS }, (_, i) => `op${i}.run`);

/** Decisions per second of wall-clock and of CPU time of `n` calls of `op` with `concurrency` callers, no per-call clock. */
async function throughput(n: number, concurrency: number, op: (i: number) => unknown): Promise<[number, number]> {
  const d = await drive(n, concurrency, op);
  return [(n / d.ms) * 1000, (n / Math.max(d.cpuMs, 1e-3)) * 1000];
}

/** Per-call latencies (µs) of `n` calls with `concurrency` callers: p50 and p99. */
async function latency(n: number, concurrency: number, op: (i: number) => unknown): Promise<{ p50Us: number; p99Us: number }> {
  return percentiles((await drive(n, concurrency, op, true)).lat!);
}

/** The suite's rows; `quick` shortens the timed runs. */
export async function guardBench(quick = false): Promise<GuardRow[]> {
  const leash = (await import(await leashModuleUrl())) as Leash;
  const policy = leash.compilePolicyOrThrow(sequencePolicySource(), { file: "bench-sequence.rules" });
  const n = quick ? 100_000 : 400_000;
  // The sequence suite's request stream (same generator, same seed).
  const reqs = sessionTrace(n, KEYS, ACTIONS);
  const runs = quick ? 3 : 5;
  const rows: GuardRow[] = [];
  const request = (r: TracedRequest) => ({ principal, action: actionNames[r.action]!, session: r.session, time: r.time });

  // The pure decide, threading its state: the reference the Guard is measured against.
  const pure = () => {
    let s: PolicyState = policy.initialState();
    return (i: number) => {
      const out = policy.decide(s, request(reqs[i]!));
      s = out.state;
      return out.decision;
    };
  };
  // Agreement: every store's Guard gives the pure decide's effect and flags on the whole trace.
  const reference = pure();
  const expected = reqs.map((_, i) => reference(i));
  const agreeOf = async (guard: Guard): Promise<boolean> => {
    for (let i = 0; i < reqs.length; i++) {
      const d = await guard.decide(request(reqs[i]!));
      if (d.effect !== expected[i]!.effect || d.flags.join() !== expected[i]!.flags.join()) return false;
    }
    return true;
  };

  const measure = async (make: () => (i: number) => Promise<unknown> | unknown, concurrency: number) => {
    await throughput(n, concurrency, make()); // warm-up
    const rates: number[] = [];
    const cpuRates: number[] = [];
    for (let r = 0; r < runs; r++) {
      const [wall, cpu] = await throughput(n, concurrency, make());
      rates.push(wall);
      cpuRates.push(cpu);
    }
    const lat = await latency(quick ? 50_000 : 100_000, concurrency, make());
    return { opsPerSec: Math.round(median(rates)), opsPerCpuSec: Math.round(median(cpuRates)), ...lat };
  };

  for (const concurrency of [1, 64]) {
    const p = await measure(pure, concurrency);
    rows.push({ suite: "guard", engine: "leash", store: "none (pure decide)", rules: RULES, keys: KEYS, concurrency, ...p, agree: true });
    for (const s of STORES) {
      const agree = await agreeOf(leash.createGuard({ policy, store: s.make(leash), timeoutMs: 60_000 }));
      const guarded = () => {
        const guard = leash.createGuard({ policy, store: s.make(leash), timeoutMs: 60_000 });
        return (i: number) => guard.decide(request(reqs[i]!));
      };
      rows.push({ suite: "guard", engine: "leash", store: s.name, rules: RULES, keys: KEYS, concurrency, ...(await measure(guarded, concurrency)), agree });
    }
  }
  return rows;
}

/** Each store's Guard against the pure decide at the same concurrency (target: at least 0.7 for memory). */
export function guardRatios(rows: readonly GuardRow[]): { suite: "guard"; ratio: string; value: number }[] {
  const out = [];
  for (const c of [1, 64]) {
    const pure = rows.find((r) => r.store === "none (pure decide)" && r.concurrency === c);
    for (const r of rows) {
      if (!pure || r.concurrency !== c || r === pure) continue;
      out.push({ suite: "guard" as const, ratio: `${r.store} guard / pure decide, concurrency ${c}`, value: ratio(r.opsPerSec, pure.opsPerSec) });
      out.push({ suite: "guard" as const, ratio: `${r.store} guard / pure decide, concurrency ${c} (CPU time)`, value: ratio(r.opsPerCpuSec, pure.opsPerCpuSec) });
    }
  }
  return out;
}

/** The suite in a child process of its own, as the other suites run. */
export const guardBenchInChild = childSuite(import.meta.url, "guard suite (memory)", guardBench, guardRatios);
