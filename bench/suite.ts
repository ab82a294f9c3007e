/**
 * What the suites over a stream of session requests share: the request trace, the driver that
 * runs decisions with a number of concurrent callers, percentiles, ratios, and the way a suite
 * runs in a child process of its own (`npm run bench`) or alone (`npx tsx bench/<suite>.ts`).
 */
import { resultOfChild } from "./child.js";

export interface TracedRequest {
  readonly session: string;
  /** Index of the action, 0 to `actions - 1` (`op<i>.run`). */
  readonly action: number;
  /** Epoch milliseconds, non-decreasing. */
  readonly time: number;
}

/** Start of every trace: epoch milliseconds, as a runtime sends them (heap numbers, not small integers). */
export const TRACE_START = Date.UTC(2026, 10, 1);

/**
 * `n` requests over `keys` sessions and `actions` actions, 0–5 ms apart, from a fixed linear
 * congruential generator: the same trace in every suite and every run.
 */
export function sessionTrace(n: number, keys: number, actions: number, seed = 42): TracedRequest[] {
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: TracedRequest[] = [];
  let time = TRACE_START;
  for (let i = 0; i < n; i++) {
    time += Math.floor(rand() * 6);
    out.push({ session: `s${Math.floor(rand() * keys)}`, action: Math.floor(rand() * actions), time });
  }
  return out;
}

export interface Driven {
  /** Wall-clock time of the run (ms). */
  readonly ms: number;
  /** This process's CPU time during the run (ms, all threads). */
  readonly cpuMs: number;
  /** Per-call latency (µs) in call order, when asked for. */
  readonly lat: Float64Array | null;
}

/** This process's CPU time so far (ms, user and system, all threads). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs `op(i)` for i in [0, n) with `concurrency` callers, each awaiting its call before taking
 * the next i. With `latencies`, times every call (µs); without, no clock is read per call.
 */
export async function drive(n: number, concurrency: number, op: (i: number) => unknown, latencies = false): Promise<Driven> {
  const lat = latencies ? new Float64Array(n) : null;
  let next = 0;
  const c0 = cpuMs();
  const t0 = performance.now();
  const caller = async () => {
    for (let i = next++; i < n; i = next++) {
      if (lat === null) {
        await op(i);
        continue;
      }
      const s = performance.now();
      await op(i);
      lat[i] = (performance.now() - s) * 1000;
    }
  };
  if (concurrency === 1) await caller();
  else await Promise.all(Array.from({ length: concurrency }, caller));
  return { ms: performance.now() - t0, cpuMs: cpuMs() - c0, lat };
}

/** The p50 and p99 of latencies (µs, rounded to 0.1), sorting a copy. */
export function percentiles(lat: Float64Array): { p50Us: number; p99Us: number } {
  const sorted = Float64Array.from(lat).sort();
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
  return { p50Us: at(0.5), p99Us: at(0.99) };
}

/** `x / y` rounded to two decimals, as the ratio rows print it. */
export function ratio(x: number, y: number): number {
  return Math.round((x / y) * 100) / 100;
}

/**
 * Makes `bench` a suite that `npm run bench` runs in a child process of its own (what earlier
 * suites left in the heap and the JIT's feedback does not colour its figures) and that prints its
 * rows and `ratios` when its file is run alone (`--quick` shortens it). Call it at the end of the
 * suite's module with that module's `import.meta.url`; returns the function that runs the suite
 * in a child and resolves with its rows.
 */
export function childSuite<R>(module: string, what: string, bench: (quick: boolean) => Promise<R[]>, ratios: (rows: readonly R[]) => readonly unknown[]): (quick?: boolean) => Promise<R[]> {
  if (module === `file://${process.argv[1]}`) {
    const quick = process.argv.includes("--quick");
    if (process.argv.includes("--child")) {
      void bench(quick).then((rows) => {
        process.send!(rows);
        process.disconnect();
      });
    } else {
      void bench(quick).then((rows) => {
        for (const r of rows) console.log(JSON.stringify(r));
        for (const r of ratios(rows)) console.log(JSON.stringify(r));
      });
    }
  }
  return (quick = false) => resultOfChild<R[]>(module, ["--child", ...(quick ? ["--quick"] : [])], what);
}
