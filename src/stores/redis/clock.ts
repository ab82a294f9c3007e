import type { RedisClient } from "./client.js";

/**
 * Redis server time as seen from this process: one `TIME` call, timed on the monotonic clock,
 * gives the server's time at the middle of the round trip, accurate to half the round trip. Of a
 * few samples the one with the shortest round trip is kept, and between samples the estimate
 * advances on the monotonic clock (so a jump of the local wall clock does not move it).
 */
export interface ServerClock {
  /** Server time now, ms since the epoch; `Date.now()` until the first sample arrives. */
  now(): number;
  /** Server time minus local wall-clock time (ms), or null before the first sample. */
  offset(): number | null;
  /** Half the round trip of the sample in use (ms): the bound of the error at sampling time. */
  error(): number | null;
  /** Takes samples now; resolves when one arrived, rejects when none could be taken. */
  sample(): Promise<void>;
  stop(): void;
}

const SAMPLES = 3;

export function serverClock(client: RedisClient, refreshMs: number): ServerClock {
  /** Server time at monotonic time 0, and half the round trip of that sample. */
  let base: number | null = null;
  let halfRtt = Infinity;
  let timer: ReturnType<typeof setInterval> | null = null;

  const one = async (): Promise<{ base: number; half: number }> => {
    const t0 = performance.now();
    const [sec, usec] = (await client.time()) as [string | number, string | number];
    const t1 = performance.now();
    const server = Number(sec) * 1000 + Number(usec) / 1000;
    if (!Number.isFinite(server)) throw new Error("redis: TIME gave an unreadable reply");
    return { base: server - (t0 + t1) / 2, half: (t1 - t0) / 2 };
  };

  const sample = async (): Promise<void> => {
    let best: { base: number; half: number } | null = null;
    for (let i = 0; i < SAMPLES; i++) {
      const s = await one();
      if (best === null || s.half < best.half) best = s;
    }
    base = best!.base;
    halfRtt = best!.half;
  };

  const clock: ServerClock = {
    now: () => (base === null ? Date.now() : base + performance.now()),
    offset: () => (base === null ? null : base + performance.now() - Date.now()),
    error: () => (base === null ? null : halfRtt),
    sample,
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
  timer = setInterval(() => void sample().catch(() => {}), refreshMs);
  timer.unref();
  return clock;
}
