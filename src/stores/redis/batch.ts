/**
 * Calls of one script (COMMIT, PREPARE, SETTLE: see scripts.ts) for transactions that became
 * ready in the same turn of the event loop, sent as one call per slot: at concurrency the round
 * trips of many decisions share one write to the socket, one command for Redis to parse and one
 * script start, where each decision would otherwise pay for its own. Each transaction is still
 * handled on its own, atomically, and answered by its own reply; a batch only shares the trip.
 *
 * A call is queued synchronously and the queue is sent once the current callbacks and their
 * promise reactions have run (`process.nextTick` scheduled from them runs after the microtask
 * queue drained), so a lone transaction leaves at once and concurrent ones go together.
 */

/** Most transactions in one call: keeps a reply, and the time Redis spends in one script, bounded. */
const MAX_TRANSACTIONS = 16;
/** Most characters of values in one call (beyond it the rest go in the next call of the same flush). */
const MAX_CHARS = 1 << 20;

interface Entry {
  readonly keys: readonly string[];
  readonly args: readonly string[];
  readonly chars: number;
  readonly resolve: (reply: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Sends one call of the script: `["", numkeys, ...KEYS, ...ARGV]` (the script's own ARGV, then the
 * transactions'), the first entry left for the script runner (see client.ts).
 */
export type SendBatch = (call: (string | number)[]) => Promise<unknown>;

export class ScriptBatches {
  private pending = new Map<number, Entry[]>();
  private scheduled = false;

  /**
   * `unreadable(raw)` is the error of a call whose reply is not one reply per transaction; `head`
   * the script's own ARGV before the transactions'.
   */
  constructor(
    private readonly send: SendBatch,
    private readonly unreadable: (raw: unknown) => Error,
    private readonly head: readonly string[],
  ) {}

  /**
   * Queues one transaction's call on `slot`: its KEYS and its ARGV (the script's header of a
   * transaction, then four per partition where the script takes them). Resolves with its own
   * reply, or rejects with the call's error (every transaction of a call that failed fails with
   * it: what Redis did with it is unknown).
   */
  call(slot: number, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let chars = 0;
      for (const a of args) chars += a.length;
      const list = this.pending.get(slot);
      if (list === undefined) this.pending.set(slot, [{ keys, args, chars, resolve, reject }]);
      else list.push({ keys, args, chars, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const all = this.pending;
    this.pending = new Map();
    for (const list of all.values()) {
      for (let from = 0; from < list.length; ) {
        let to = from;
        let chars = 0;
        while (to < list.length && to - from < MAX_TRANSACTIONS && (to === from || chars + list[to]!.chars <= MAX_CHARS)) chars += list[to++]!.chars;
        this.dispatch(list.slice(from, to));
        from = to;
      }
    }
  };

  private dispatch(batch: readonly Entry[]): void {
    let keys = 0;
    for (const e of batch) keys += e.keys.length;
    const call: (string | number)[] = ["", keys];
    for (const e of batch) for (const k of e.keys) call.push(k);
    for (const a of this.head) call.push(a);
    for (const e of batch) for (const a of e.args) call.push(a);
    let sent: Promise<unknown>;
    try {
      sent = this.send(call);
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent.then(
      (replies) => {
        if (!Array.isArray(replies) || replies.length !== batch.length) {
          const error = this.unreadable(replies);
          for (const e of batch) e.reject(error);
          return;
        }
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(replies[i]);
      },
      (error: unknown) => {
        for (const e of batch) e.reject(error);
      },
    );
  }
}
