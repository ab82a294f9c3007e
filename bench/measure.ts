/**
 * Throughput measurement: warm up, then time several batches and report the median. A batch runs
 * chunks of about 1 ms of work until at least `batchMs` has passed, so a bad estimate of the rate
 * (a descheduled warm-up chunk on a busy machine) cannot produce tiny batches. `run(n)` performs n
 * operations and returns a number that depends on their results (kept in `sink` so the work
 * cannot be optimised away).
 */

export interface MeasureOptions {
  /** Minimum warm-up time. */
  readonly warmMs: number;
  /** Minimum duration of one timed batch. */
  readonly batchMs: number;
  /** Number of timed batches (the median is reported); at least 5. */
  readonly batches: number;
}

export interface Measurement {
  /** Median of the batches, operations per second of wall-clock time. */
  readonly opsPerSec: number;
  /**
   * Median of the batches, operations per second of this process's CPU time (all its threads,
   * so GC helper threads count against the engine). Less sensitive to other load on the machine.
   */
  readonly opsPerCpuSec: number;
  /** CPU time / wall time over the timed batches: near 1 when nothing else competed for the core. */
  readonly cpuShare: number;
  /** Mean operations per timed batch. */
  readonly batchSize: number;
  /** Ops/s (wall clock) of every batch, in the order run. */
  readonly samples: readonly number[];
}

export let sink = 0;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function measure(run: (n: number) => number, opts: MeasureOptions): Measurement {
  // Warm-up: grow the chunk until it takes about 1 ms, then keep running until warmMs has passed.
  // The chunk follows the fastest rate seen, so later tiers of the JIT enlarge it.
  let chunk = 1;
  const warmStart = nowMs();
  for (;;) {
    const t0 = nowMs();
    sink ^= run(chunk);
    const dt = nowMs() - t0;
    if (dt < 1) chunk *= 2;
    else chunk = Math.max(chunk, Math.round(chunk / dt));
    if (dt >= 1 && nowMs() - warmStart >= opts.warmMs) break;
  }
  const samples: number[] = [];
  const cpuSamples: number[] = [];
  let wall = 0;
  let cpu = 0;
  let ops = 0;
  const batches = Math.max(5, opts.batches);
  for (let b = 0; b < batches; b++) {
    let n = 0;
    const c0 = cpuMs();
    const t0 = nowMs();
    let dt = 0;
    do {
      sink ^= run(chunk);
      n += chunk;
      dt = nowMs() - t0;
    } while (dt < opts.batchMs);
    const dc = cpuMs() - c0;
    samples.push((n * 1000) / dt);
    cpuSamples.push((n * 1000) / Math.max(dc, 1e-3));
    wall += dt;
    cpu += dc;
    ops += n;
  }
  return {
    opsPerSec: median(samples),
    opsPerCpuSec: median(cpuSamples),
    cpuShare: cpu / wall,
    batchSize: Math.round(ops / batches),
    samples,
  };
}
