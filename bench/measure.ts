/**
 * Throughput measurement: warm up, size a batch from the warm-up rate, time several batches,
 * report the median. `run(n)` performs n operations and returns a number that depends on their
 * results (kept in `sink` so the work cannot be optimised away).
 */

export interface MeasureOptions {
  /** Minimum warm-up time before the batch size is fixed. */
  readonly warmMs: number;
  /** Target duration of one timed batch. */
  readonly batchMs: number;
  /** Number of timed batches (the median is reported); at least 5. */
  readonly batches: number;
}

export interface Measurement {
  /** Median of the batches, operations per second. */
  readonly opsPerSec: number;
  /** Operations per batch. */
  readonly batchSize: number;
  /** Ops/s of every batch, in the order run. */
  readonly samples: readonly number[];
}

export let sink = 0;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function measure(run: (n: number) => number, opts: MeasureOptions): Measurement {
  // Warm-up: double the chunk until one chunk takes >= 1/4 of a batch, and keep going until
  // warmMs has passed; the last chunk's rate fixes the batch size.
  let n = 1;
  let spent = 0;
  let perMs = 0;
  for (;;) {
    const t0 = nowMs();
    sink ^= run(n);
    const dt = nowMs() - t0;
    spent += dt;
    perMs = n / Math.max(dt, 1e-3);
    if (dt < opts.batchMs / 4) n *= 2;
    else if (spent >= opts.warmMs) break;
  }
  const batchSize = Math.max(1, Math.round(perMs * opts.batchMs));
  const samples: number[] = [];
  for (let b = 0; b < Math.max(5, opts.batches); b++) {
    const t0 = nowMs();
    sink ^= run(batchSize);
    const dt = nowMs() - t0;
    samples.push((batchSize * 1000) / dt);
  }
  return { opsPerSec: median(samples), batchSize, samples };
}
