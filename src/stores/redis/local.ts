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

/** A place in the queues of a transaction's keys. */
export interface Turn {
  /** Resolves when every earlier transaction on one of these keys has finished; null: none. */
  readonly wait: Promise<void> | null;
  /** Ends this transaction's turn (its successors run once it and its predecessors are done). */
  readonly leave: () => void;
}

/**
 * Transactions of one process on a common partition run one after another, in arrival order, so
 * that they do not conflict with each other at the server: contention is left only between
 * processes. A transaction joins the queues of all its keys at once, so waits never form a cycle.
 */
export class KeyQueue {
  private readonly tails = new Map<string, Promise<void>>();

  enter(keys: readonly string[]): Turn {
    let before: Promise<void>[] | null = null;
    for (const k of keys) {
      const t = this.tails.get(k);
      if (t !== undefined) (before ??= []).push(t);
    }
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    for (const k of keys) this.tails.set(k, mine);
    const wait = before === null ? null : before.length === 1 ? before[0]! : Promise.all(before).then(() => {});
    void mine.then(() => {
      for (const k of keys) if (this.tails.get(k) === mine) this.tails.delete(k);
    });
    return {
      wait,
      leave: () => {
        // A transaction that gave up early (deadline) still lets its successors run only after
        // its predecessors, so the order of the queue holds.
        if (wait === null) release();
        else void wait.then(release, release);
      },
    };
  }
}
