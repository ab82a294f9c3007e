import { ABSENT, type Held } from "./codec.js";

/**
 * The last known value and version of recently used partitions, in least-recently-used order.
 * A step runs on these optimistically; the commit script checks every version, so a stale or
 * evicted entry costs a retry (the script's reply carries the current value), never a wrong
 * decision. An unknown partition is taken to be absent.
 */
export class PartitionCache {
  private readonly entries = new Map<string, Held>();

  constructor(private readonly capacity: number) {}

  get(key: string): Held {
    const h = this.entries.get(key);
    if (h === undefined) return ABSENT;
    this.entries.delete(key);
    this.entries.set(key, h);
    return h;
  }

  set(key: string, held: Held): void {
    this.entries.delete(key);
    this.entries.set(key, held);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

interface Slot {
  /** A transaction in flight writes this partition (or, across slots, holds its lock). */
  busy: boolean;
  /** A waiter was woken and has not yet looked again. */
  waking: boolean;
  readonly queue: Waiter[];
}

/** What bounds a wait: the transaction's deadline. */
export interface Bounded {
  within<V>(p: Promise<V>): Promise<V>;
}

interface Waiter {
  readonly wake: () => void;
  dead: boolean;
}

/**
 * Keeps a process's transactions from sending scripts that are bound to conflict with its own
 * scripts in flight. A transaction is admitted when none of its partitions is being written by
 * one of this process's transactions in flight; otherwise it waits, first come first served, on
 * that partition. Partitions that are only read are never held, so any number of transactions
 * that read a common partition (a principal's revocation entry) run concurrently; transactions
 * that write a common partition (one session) run one after the other, a round trip each, with
 * no conflict between them. Contention is left only between processes.
 */
export class WriteGate {
  private readonly slots = new Map<string, Slot>();

  /**
   * Resolves (or returns null at once) when no partition of `keys` is written by a transaction in
   * flight. The caller must then run its step and call `hold` without awaiting anything between.
   * `bound.within` bounds the wait (the transaction's deadline).
   */
  admit(keys: readonly string[], bound: Bounded): Promise<void> | null {
    const k = this.blocked(keys, null);
    return k === null ? null : this.wait(keys, k, bound);
  }

  private async wait(keys: readonly string[], first: string, bound: Bounded): Promise<void> {
    let k: string | null = first;
    while (k !== null) {
      const slot = this.slots.get(k)!;
      let waiter!: Waiter;
      const woken = new Promise<void>((wake) => (waiter = { wake, dead: false }));
      slot.queue.push(waiter);
      try {
        await bound.within(woken);
      } catch (e) {
        waiter.dead = true;
        throw e;
      }
      slot.waking = false;
      const next = this.blocked(keys, k);
      // Waiting elsewhere now: the next in line here may go.
      if (next !== null && next !== k) this.pass(k);
      k = next;
    }
  }

  /** The first of `keys` another transaction holds or waits for (`mine` was handed to us). */
  private blocked(keys: readonly string[], mine: string | null): string | null {
    for (const k of keys) {
      const s = this.slots.get(k);
      if (s === undefined) continue;
      if (k === mine ? s.busy : s.busy || s.waking || s.queue.length > 0) return k;
    }
    return null;
  }

  /** Marks `held` as written by the admitted transaction; the rest of `keys` go to their next waiter. */
  hold(keys: readonly string[], held: readonly string[]): void {
    for (const k of held) {
      const s = this.slots.get(k);
      if (s === undefined) this.slots.set(k, { busy: true, waking: false, queue: [] });
      else s.busy = true;
    }
    for (const k of keys) if (!held.includes(k)) this.pass(k);
  }

  /** The transaction that held `held` is done. */
  release(held: readonly string[]): void {
    for (const k of held) {
      const s = this.slots.get(k);
      if (s === undefined) continue;
      s.busy = false;
      this.pass(k);
    }
  }

  /** Wakes the next live waiter of a partition nobody holds, or forgets the partition. */
  private pass(k: string): void {
    const s = this.slots.get(k);
    if (s === undefined || s.busy || s.waking) return;
    for (let w = s.queue.shift(); w !== undefined; w = s.queue.shift()) {
      if (w.dead) continue;
      s.waking = true;
      w.wake();
      return;
    }
    this.slots.delete(k);
  }
}
