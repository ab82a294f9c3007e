/**
 * The clock a Guard reads and sets its one timer on: the system's, or one a test drives.
 */

/** A time source with one kind of timer: call back at a time on this clock. */
export interface GuardClock {
  /** Now, in ms since the epoch (or since any origin the caller's requests use). */
  now(): number;
  /**
   * Calls `fn` once, at or after time `at` on this clock; returns the function that cancels it.
   * The Guard keeps at most one such timer pending, whatever the number of holds.
   */
  setTimer(at: number, fn: () => void): () => void;
}

/** The longest delay `setTimeout` takes (about 24.8 days); a later time is reached in steps. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The system clock: `now` (default `Date.now`) and `setTimeout`. A timer does not keep the
 * process alive (the server that holds the sessions does), and one further than `setTimeout`
 * reaches fires early: the Guard then finds nothing due and sets it again.
 */
export function systemClock(now: () => number = Date.now): GuardClock {
  return {
    now,
    setTimer(at, fn) {
      const timer = setTimeout(fn, Math.min(MAX_DELAY, Math.max(0, at - now())));
      (timer as { unref?: () => void }).unref?.();
      return () => clearTimeout(timer);
    },
  };
}

/** A clock that moves only when told: for tests of deadlines, without waiting. */
export interface ManualClock extends GuardClock {
  /** Timers set and not yet fired or cancelled. */
  readonly pending: number;
  /**
   * Moves the clock forward by `ms`, firing each due timer at its own time, in time order, and
   * letting the work they start (rechecks, `onChange` calls) settle before the next one.
   */
  advance(ms: number): Promise<void>;
  /** Moves the clock to `time` (never backwards), as `advance` does. */
  set(time: number): Promise<void>;
}

/**
 * A clock for tests: time starts at `start` (ms) and moves only by `advance` or `set`.
 *
 * ```ts
 * const clock = manualClock(0);
 * const guard = createGuard({ policy, clock });
 * guard.hold(decision, request, { onChange });
 * await clock.advance(15 * 60_000);   // the grant ends: onChange has been called
 * ```
 */
export function manualClock(start = 0): ManualClock {
  let time = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const earliestDue = (until: number): [number, { at: number; fn: () => void }] | null => {
    let best: [number, { at: number; fn: () => void }] | null = null;
    for (const e of timers) if (e[1].at <= until && (best === null || e[1].at < best[1].at)) best = e;
    return best;
  };
  const moveTo = async (target: number): Promise<void> => {
    if (!(target >= time)) throw new RangeError(`manualClock: time only moves forward (now ${time}, asked for ${target})`);
    for (let due = earliestDue(target); due !== null; due = earliestDue(target)) {
      timers.delete(due[0]);
      time = Math.max(time, due[1].at);
      due[1].fn();
      await settle();
    }
    time = target;
    await settle();
  };
  return {
    now: () => time,
    setTimer(at, fn) {
      const id = seq++;
      timers.set(id, { at, fn });
      return () => void timers.delete(id);
    },
    get pending() {
      return timers.size;
    },
    advance: (ms) => moveTo(time + ms),
    set: (t) => moveTo(t),
  };
}

/** Lets promise chains started by a timer run: a few turns of the event loop. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}
