import type { GuardClock } from "./clock.js";

/** A scheduled deadline; `at` is its time on the clock, `index` its place in the heap (-1: not scheduled). */
export interface Deadline<T> {
  readonly item: T;
  at: number;
  index: number;
}

/**
 * Deadlines for any number of items on one clock timer: a binary min-heap ordered by time, with
 * the single timer set for the earliest. Scheduling, moving and cancelling cost O(log n); a
 * cancelled deadline leaves the heap at once, so memory follows the live items only.
 */
export class Timers<T> {
  private readonly heap: Deadline<T>[] = [];
  private cancelTimer: (() => void) | null = null;
  /** The time the clock timer is set for (NaN: none). */
  private armedAt = NaN;

  constructor(
    private readonly clock: GuardClock,
    private readonly fire: (item: T) => void,
  ) {}

  /** Deadlines scheduled. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules `item` at `at`, or moves its deadline there. */
  schedule(d: Deadline<T> | null, item: T, at: number): Deadline<T> {
    const entry = d ?? { item, at, index: -1 };
    if (entry.index >= 0) {
      const before = entry.at;
      entry.at = at;
      if (at < before) this.up(entry.index);
      else this.down(entry.index);
    } else {
      entry.at = at;
      entry.index = this.heap.length;
      this.heap.push(entry);
      this.up(entry.index);
    }
    this.arm();
    return entry;
  }

  /** Removes a deadline (no-op when it is not scheduled). */
  cancel(d: Deadline<T> | null): void {
    if (d === null || d.index < 0) return;
    this.remove(d);
    this.arm();
  }

  private remove(d: Deadline<T>): void {
    const i = d.index;
    const last = this.heap.pop()!;
    d.index = -1;
    if (last !== d) {
      this.heap[i] = last;
      last.index = i;
      this.up(i);
      this.down(last.index);
    }
  }

  /** Cancels every deadline and the clock timer. */
  clear(): void {
    for (const d of this.heap) d.index = -1;
    this.heap.length = 0;
    this.arm();
  }

  /** Sets the clock timer for the earliest deadline, unless it is set for that time already. */
  private arm(): void {
    const first = this.heap[0];
    const at = first === undefined ? NaN : first.at;
    if (at === this.armedAt || (Number.isNaN(at) && Number.isNaN(this.armedAt))) return;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.armedAt = at;
    if (first !== undefined) this.cancelTimer = this.clock.setTimer(at, () => this.due());
  }

  /** Fires every deadline that is due, earliest first, then sets the timer for the next. */
  private due(): void {
    this.cancelTimer = null;
    this.armedAt = NaN;
    const now = this.clock.now();
    const fired: T[] = [];
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const d = this.heap[0]!;
      this.remove(d);
      fired.push(d.item);
    }
    this.arm();
    for (const item of fired) this.fire(item);
  }

  private up(i: number): void {
    const h = this.heap;
    const d = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= d.at) break;
      h[i] = h[parent]!;
      h[i]!.index = i;
      i = parent;
    }
    h[i] = d;
    d.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const d = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= d.at) break;
      h[i] = h[c]!;
      h[i]!.index = i;
      i = c;
    }
    h[i] = d;
    d.index = i;
  }
}
