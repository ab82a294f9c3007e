/**
 * The contract between the Guard and the stores that hold a policy's state.
 *
 * A store holds **partitions**: one JSON-serialisable value per state key (`session:s-1`,
 * `principal:agent/bot`, `context.ip:203.0.113.9`, ...). It knows nothing of their meaning. The
 * Guard asks it to run one decision step over the partitions a request touches; the store runs the
 * step on a consistent snapshot of those partitions and commits what the step writes atomically,
 * running the step again on fresher partitions when another writer committed in between.
 */

/** A partition as a store holds it: any JSON value the core wrote (opaque to the store). */
export type PartitionData = unknown;

/** What one run of a step decided: per key (same order as the keys), what to write back. */
export interface StepResult<T> {
  /**
   * Per key: `undefined` leaves the partition as it is, `null` deletes it, anything else replaces it.
   * Fewer entries than keys means `undefined` for the rest.
   */
  readonly writes: readonly (PartitionData | null | undefined)[];
  /**
   * Per written key: how long (ms) the store must keep it at least, so that it never drops a
   * partition the core still counts as live. `Infinity` (or absent) keeps it until it is replaced.
   */
  readonly keepMs?: readonly number[];
  /**
   * Per key (same order as the keys): `true` to tell the other holders of a shared store that
   * this write happened (a revocation, a signal's effect), through their `subscribe` listeners.
   * Absent or `false`: nobody is told. A store whose partitions no one else holds ignores it.
   */
  readonly notify?: readonly boolean[];
  /** What the transaction returns to the caller. */
  readonly result: T;
}

/**
 * A step: a pure function of the current partitions (`null` for an absent key) to the writes and
 * the result. It may be called more than once per transaction and must not have side effects.
 */
export type Step<T> = (current: readonly (PartitionData | null)[]) => StepResult<T>;

/** Why a store could not complete a transaction. The Guard turns it into a deny (fail closed). */
export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    /** A runtime code, e.g. `R314` (store unavailable) or `R315` (store timeout). */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Whether `e` is a StoreError — of this module or of another copy of it: the bundles of `leash`
 * and `leash/redis` each carry the class, so `instanceof` alone would miss a store's error.
 */
export function isStoreError(e: unknown): e is StoreError {
  if (!(e instanceof Error) || e.name !== "StoreError") return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && /^R3\d\d$/.test(code);
}

/** A place where partitions live: in process (`memoryStore`) or shared by a fleet (`redisStore`). */
export interface Store {
  /** `memory`, `redis`, `redis-cluster`, ...: for decision logs and metrics. */
  readonly kind: string;
  /**
   * Runs `step` over the current partitions of `keys` and commits its writes atomically. Returns
   * the step's result, or rejects with a `StoreError` when the store fails or `deadline` (ms since
   * the epoch, on the local clock) passes first. Synchronous stores may return the result directly.
   */
  transact<T>(keys: readonly string[], step: Step<T>, deadline: number): T | Promise<T>;
  /** Releases connections and timers; later transactions reject with `StoreError`. */
  close(): Promise<void>;
  /**
   * The store's clock (ms since the epoch), for stores that keep one (`redisStore` with
   * `clock: "server"` reads the Redis server's time). A Guard given no `now` uses it.
   */
  readonly now?: () => number;
  /**
   * Calls `listener` with the keys that other holders of this store wrote with `notify` (a shared
   * store: Redis pub/sub). Delivery is at most once and may lag; a decision never depends on it
   * (every transaction reads current partitions), it only lets a holder act sooner — e.g. end the
   * open streams of a session revoked elsewhere. Returns the function that stops listening.
   * `onGap`, when given, is called each time notifications may have been lost: once the
   * subscription is in place (what came before it is not delivered), and whenever the connection
   * that receives them dropped and is back. A holder then re-checks everything it holds.
   * Stores that no one else shares (memory) leave it out.
   */
  subscribe?(listener: (keys: readonly string[]) => void, onGap?: () => void): () => void;
}
