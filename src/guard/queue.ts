/**
 * Per-key queues for one process: work that may write the same partition runs in the order it
 * arrived. A ticket takes its place on all its keys at once, synchronously, so tickets are totally
 * ordered and each waits only for tickets taken before it: no two can wait for each other.
 */
export class KeyQueue {
  /** Per key: the promise that resolves when the last ticket on it is done. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Queued keys (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }

  /**
   * Takes a ticket on the `keys` whose `writable` flag is set: `ready` resolves when every earlier
   * ticket on any of them is done (null when none is pending); call `done` when the work is finished
   * or abandoned, exactly once.
   */
  enter(keys: readonly string[], writable: readonly boolean[]): { readonly ready: Promise<void> | null; done(): void } {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    let first: Promise<void> | null = null;
    let more: Promise<void>[] | null = null;
    const taken: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (!writable[i]) continue;
      const k = keys[i]!;
      const prev = this.tails.get(k);
      if (prev !== undefined) {
        if (first === null) first = prev;
        else (more ??= [first]).push(prev);
      }
      this.tails.set(k, mine);
      taken.push(k);
    }
    let finished = false;
    return {
      ready: more !== null ? Promise.all(more).then(() => undefined) : first,
      done: () => {
        if (finished) return;
        finished = true;
        release();
        for (const k of taken) if (this.tails.get(k) === mine) this.tails.delete(k);
      },
    };
  }
}
