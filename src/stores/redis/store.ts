import type { PartitionData, Step, StepResult, Store } from "../store.js";
import { StoreError } from "../store.js";
import { connect, scriptRunner, storeErrorOf, type RedisClient } from "./client.js";
import { serverClock } from "./clock.js";
import { ScriptBatches } from "./batch.js";
import { ABSENT, decode, encode, versionSource, type Held } from "./codec.js";
import { keyNames, keySlot } from "./names.js";
import { PartitionCache, WriteGate } from "./local.js";
import { COMMIT, PREPARE, RESOLVE, SETTLE } from "./scripts.js";

export interface RedisStoreOptions {
  /**
   * An ioredis client (`new Redis(...)` or `new Cluster(...)`) the caller owns: the store does not
   * close it. Give it `autoResendUnfulfilledCommands: false` and `maxRetriesPerRequest: 0` so that
   * a script is never sent twice and nothing waits for a reconnect (see docs/deployment.md).
   */
  readonly client?: RedisClient;
  /** A standalone server, `redis://[user:password@]host:port[/db]`; the store owns the client. */
  readonly url?: string;
  /** Seed nodes of a Redis Cluster, `["redis://127.0.0.1:7000", ...]`; the store owns the client. */
  readonly cluster?: readonly string[];
  /** Prefix of every key the store writes (default `leash:`); no `{` or `}`. One per policy or tenant. */
  readonly prefix?: string;
  /**
   * What the Cluster hash tag is: `partition` (default) spreads partitions over the slots, so a
   * request's partitions may sit in several slots (two-phase commit); `prefix` puts every
   * partition of this prefix in one slot, so every transaction is one script on one node.
   */
  readonly hashTag?: "partition" | "prefix";
  /**
   * `local` (default): `store.now()` is this process's clock. `server`: `store.now()` is the Redis
   * server's clock, estimated from `TIME` (within half a round trip, refreshed every
   * `clockRefreshMs`); pass `now: store.now` to the Guard, or let it pick the store's clock.
   */
  readonly clock?: "local" | "server";
  /** How often the server clock estimate is refreshed (ms, default 10,000). */
  readonly clockRefreshMs?: number;
  /** Most partitions whose last known value and version the store keeps in process (default 10,000). */
  readonly cacheSize?: number;
  /** How long a cross-slot transaction's locks hold before another holder may resolve them (ms, default 2,000). */
  readonly lockLeaseMs?: number;
  /** Most runs of a step in one transaction before it gives up with R330 (default 100). */
  readonly maxAttempts?: number;
  /** A script that reaches Redis this long after the transaction's deadline (by the server's clock) writes nothing (ms, default 250). */
  readonly lateMarginMs?: number;
  /** Longest stored value decoded as a partition (characters, default 1,048,576); a longer one reaches the step as raw text. */
  readonly maxValueLength?: number;
  /** Pub/sub channel for changes steps mark with `notify` (default `<prefix>changes`). */
  readonly channel?: string;
  /**
   * While subscribed, a heartbeat is published on the channel this often (ms, default 1,000; 0
   * turns it off). On a Redis Cluster a subscription can move or die with its node without the
   * client noticing: when no heartbeat (this instance's or another's) arrives for three
   * intervals, the subscription is made afresh on a live node and the gap is reported.
   */
  readonly heartbeatMs?: number;
}

/** Counters of a Redis store since it was created. */
export interface RedisStoreStats {
  /** Transactions committed. */
  readonly commits: number;
  /** Step runs repeated because another holder had written a partition first. */
  readonly conflicts: number;
  /** Transactions committed over several slots (two-phase). */
  readonly crossSlot: number;
  /** Waits for a cross-slot transaction's lock. */
  readonly lockWaits: number;
  /** Locks of other holders resolved after their lease ran out. */
  readonly resolved: number;
  /** Transactions that claimed their turn on partitions after losing to other writers three times in a row. */
  readonly turns: number;
}

/** The Redis store: the Store contract plus its clock, readiness, notifications and counters. */
export interface RedisStore extends Store {
  readonly kind: "redis" | "redis-cluster";
  /** The store's clock (ms since the epoch): local, or the server's with `clock: "server"`. */
  readonly now: () => number;
  /** Resolves once Redis answered and the server clock was sampled; rejects with a StoreError if it cannot be reached. */
  ready(): Promise<void>;
  /**
   * Calls `listener` with the partition keys other holders of this prefix changed with
   * `notify` (revocations, signals). `onGap` is called once the subscription is in place, and
   * again whenever its connection dropped and is subscribed again: what was published before
   * is lost to this listener. Returns the function that
   * stops listening.
   */
  subscribe(listener: (keys: readonly string[]) => void, onGap?: () => void): () => void;
  readonly stats: RedisStoreStats;
  /** The ioredis client in use. */
  readonly client: RedisClient;
}

/** A partition's Redis key names, and its Cluster slot (-1 until computed). */
interface Named {
  readonly data: string;
  readonly lock: string;
  slot: number;
}

interface Reply {
  readonly code: 0 | 1 | 2 | 3 | 4;
  readonly raw: readonly unknown[];
}

interface Plan {
  /**
   * The ARGV of the transaction's COMMIT: HEADER slots the caller fills (number of partitions,
   * notAfter, mode, claim), then the four per partition, in key order.
   */
  readonly args: string[];
  /** What each partition holds after a commit (undefined: unchanged). */
  readonly next: (Held | undefined)[];
  /** The keys the plan writes. */
  readonly written: string[];
}

/** ARGV of COMMIT's own before the partitions' four (see scripts.ts). */
const HEADER = 4;

/** A transaction that must run its step again (versions changed or another holder aborted it). */
const RETRY = Symbol("retry");
/** A cross-slot transaction that met another one's turn: it drops its locks and waits. */
const TURN = Symbol("turn");

/** A reply 2 for another transaction's turn (`{2, i, expires, nil, "turn", now}`), not a lock. */
function isTurn(r: Reply): boolean {
  return r.raw[3] === null && r.raw[4] === "turn";
}

/**
 * Creates a store that keeps each partition in one Redis key and commits every transaction
 * atomically after checking the versions of all the partitions its step read — exact decisions
 * across any number of processes, on a standalone server or a Redis Cluster. See
 * docs/deployment.md for the consistency model, the failure modes and the clock option.
 *
 * ```ts
 * import { redisStore } from "leash/redis";
 * const store = redisStore({ url: "redis://127.0.0.1:6379", prefix: "leash:gateway:" });
 * const guard = createGuard({ policy, store, timeoutMs: 200 });
 * ```
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  const owned = options.client === undefined;
  const client = options.client ?? connect(options);
  const cluster = (client as { isCluster?: boolean }).isCluster === true;
  const prefix = options.prefix ?? "leash:";
  const oneSlot = options.hashTag === "prefix";
  const names = keyNames(prefix, oneSlot);
  const channel = options.channel ?? `${prefix}changes`;
  const heartbeatMs = nonNegative(options.heartbeatMs ?? 1_000, "heartbeatMs");
  const cacheSize = positive(options.cacheSize ?? 10_000, "cacheSize");
  const leaseMs = positive(options.lockLeaseMs ?? 2_000, "lockLeaseMs");
  const maxAttempts = positive(options.maxAttempts ?? 100, "maxAttempts");
  const lateMarginMs = nonNegative(options.lateMarginMs ?? 250, "lateMarginMs");
  const maxValueLength = positive(options.maxValueLength ?? 1_048_576, "maxValueLength");
  const run = scriptRunner(client);
  const fresh = versionSource();
  const writer = fresh();
  const commits = new ScriptBatches((call) => run(COMMIT, call), unreadable, [channel, writer]);
  const prepares = new ScriptBatches((call) => run(PREPARE, call), unreadable, []);
  const settles = new ScriptBatches((call) => run(SETTLE, call), unreadable, [channel, writer]);
  /** The slot a script call on these keys goes to (0: one server, or one slot for the prefix). */
  const slotOf = (keys: readonly string[], idx: readonly number[]): number => (cluster && !oneSlot ? slotOfKey(keys[idx[0]!]!) : 0);
  /** The Redis names of recently used partitions, and their slot once asked for: built once, not per transaction. */
  const nameCache = new Map<string, Named>();
  const named = (key: string): Named => {
    let n = nameCache.get(key);
    if (n === undefined) {
      if (nameCache.size >= cacheSize) nameCache.clear();
      n = { data: names.data(key), lock: names.lock(key), slot: -1 };
      nameCache.set(key, n);
    }
    return n;
  };
  const slotOfKey = (key: string): number => {
    const n = named(key);
    return n.slot >= 0 ? n.slot : (n.slot = keySlot(n.data));
  };
  const clock = serverClock(client, positive(options.clockRefreshMs ?? 10_000, "clockRefreshMs"));
  const firstSample = clock.sample().catch(() => {});
  const cache = new PartitionCache(cacheSize);
  const gate = new WriteGate();
  const deadlines = new Deadlines();
  /** Locks exist only where a request's partitions can sit in several slots. */
  const lockMode = cluster && !oneSlot ? "1" : "0";
  const stats = { commits: 0, conflicts: 0, crossSlot: 0, lockWaits: 0, resolved: 0, turns: 0 };
  const listeners = new Set<(keys: readonly string[]) => void>();
  const gapListeners = new Set<() => void>();
  let subscriber: RedisClient | null = null;
  let closed = false;

  const notAfter = (deadline: number): string => {
    const offset = clock.offset();
    return offset === null ? "0" : String(Math.ceil(deadline + offset + lateMarginMs));
  };

  const plan = (keys: readonly string[], held: readonly Held[], out: StepResult<unknown>): Plan => {
    const args: string[] = ["", "", "", ""];
    const next: (Held | undefined)[] = [];
    const written: string[] = [];
    const writes = out.writes;
    for (let i = 0; i < keys.length; i++) {
      const w = writes[i];
      const version = held[i]!.version;
      const loud = out.notify?.[i] === true;
      if (w === undefined || (w === null && version === "")) {
        args.push(version, "r", "", "0");
        next.push(undefined);
      } else if (w === null) {
        args.push(version, loud ? "D" : "d", "", "0");
        next.push(ABSENT);
        written.push(keys[i]!);
      } else {
        const fresh_ = fresh();
        const keep = out.keepMs?.[i] ?? Infinity;
        args.push(version, loud ? "S" : "s", encode(fresh_, w), Number.isFinite(keep) ? String(Math.max(1, Math.ceil(keep))) : "0");
        next.push({ version: fresh_, value: w as PartitionData });
        written.push(keys[i]!);
      }
    }
    return { args, next, written };
  };

  const slotKeys = (keys: readonly string[], idx: readonly number[]): string[] => {
    const out: string[] = [];
    for (const i of idx) {
      const n = named(keys[i]!);
      out.push(n.data, n.lock);
    }
    return out;
  };

  const slotArgs = (p: Plan, idx: readonly number[]): string[] => {
    const out: string[] = [];
    for (const i of idx) {
      const at = HEADER + 4 * i;
      out.push(p.args[at]!, p.args[at + 1]!, p.args[at + 2]!, p.args[at + 3]!);
    }
    return out;
  };

  /**
   * Applies (`c`) or drops (`a`) transaction `txid`'s locks on the partitions `idx` of one slot and
   * ends the turns of `claim` there (`""`: none; txid `""`: only the turns).
   */
  const settle = (keys: readonly string[], idx: readonly number[], txid: string, outcome: "c" | "a", claim: string): Promise<void> => {
    const k = slotKeys(keys, idx);
    return settles.call(slotOf(keys, idx), k, [String(idx.length), txid, outcome, claim]).then((r) => {
      if (typeof r !== "number") readReply(r); // {5, message}: a Redis error
    });
  };

  const learn = (keys: readonly string[], idx: readonly number[], r: Reply): void => {
    for (let j = 1; j + 1 < r.raw.length; j += 2) {
      const at = r.raw[j];
      const cur = r.raw[j + 1];
      if (typeof at !== "number" || at < 1 || at > idx.length || (cur !== null && typeof cur !== "string")) throw unreadable(r.raw);
      cache.set(keys[idx[at - 1]!]!, decode(cur, maxValueLength));
    }
    stats.conflicts++;
  };

  const commitAll = (keys: readonly string[], p: Plan): void => {
    for (let i = 0; i < keys.length; i++) {
      const n = p.next[i];
      if (n !== undefined) cache.set(keys[i]!, n);
    }
    stats.commits++;
  };

  /** Waits for another holder's cross-slot lock, or resolves it when its lease ran out. */
  const onLocked = async (keys: readonly string[], idx: readonly number[], r: Reply, attempt: number, within: Within): Promise<void> => {
    stats.lockWaits++;
    const [, at, expires, txid, status, now] = r.raw;
    if (typeof at !== "number" || at < 1 || at > idx.length) throw unreadable(r.raw);
    const e = Number(expires);
    if (Number.isFinite(e) && Number(now) >= e && typeof txid === "string" && typeof status === "string") {
      const key = keys[idx[at - 1]!]!;
      const outcome = await within(run(RESOLVE, ["", 1, status]));
      if (outcome !== "c" && outcome !== "a") throw unreadable([outcome]);
      await within(settle(keys, [idx[at - 1]!], txid, outcome, ""));
      cache.delete(key);
      stats.resolved++;
      return;
    }
    await within(sleep(backoffMs(attempt)));
  };

  /** Runs the step on the cached partitions; if it throws, the partitions go to their next waiters. */
  const runStep = <T>(keys: readonly string[], step: Step<T>): { out: StepResult<T>; p: Plan } => {
    try {
      const held: Held[] = [];
      const values: (PartitionData | null)[] = [];
      for (const k of keys) {
        const h = cache.get(k);
        held.push(h);
        values.push(h.value);
      }
      const out = step(values);
      return { out, p: plan(keys, held, out) };
    } catch (e) {
      gate.hold(keys, EMPTY);
      throw e;
    }
  };

  /** The claim argument of a transaction's scripts once it lost CLAIM_AFTER times (see scripts.ts). */
  const claimArg = (turn: Turn, attempt: number): string => {
    if (attempt < CLAIM_AFTER) return "";
    if (turn.id === "") {
      turn.id = fresh();
      stats.turns++;
    }
    return `${turn.id}|${leaseMs}`;
  };

  /**
   * Ends a transaction's turn (best effort: otherwise it expires with its lease): when it gave up,
   * and when it met another transaction's turn, so that two claimants never wait for each other.
   */
  const endTurn = (keys: readonly string[], slots: readonly (readonly number[])[], turn: Turn): void => {
    if (turn.taken) for (const idx of slots) void settle(keys, idx, "", "a", turn.id).catch(() => {});
    turn.id = "";
    turn.taken = false;
  };

  /** A stale reply to a script that carried the claim: the script took the turn (see scripts.ts). */
  const tookTurn = (turn: Turn): void => {
    if (turn.id !== "") turn.taken = true;
  };

  const single = async <T>(keys: readonly string[], step: Step<T>, tx: Tx): Promise<T> => {
    const idx = indexes(keys.length);
    const redisKeys = slotKeys(keys, idx);
    const slot = slotOf(keys, idx);
    const turn: Turn = { id: "", taken: false };
    try {
      // Conflicts count against maxAttempts; waits for locks and turns only against the deadline.
      for (let attempt = 0, waits = 0; ; ) {
        checkBudget(attempt, maxAttempts, tx.deadline);
        const admitted = gate.admit(keys, tx);
        if (admitted !== null) await admitted;
        const { out, p } = runStep(keys, step);
        gate.hold(keys, p.written);
        // Released when the reply comes, or at the deadline if it never does.
        tx.hold(p.written);
        const args = p.args;
        args[0] = count(keys.length);
        args[1] = notAfter(tx.deadline);
        args[2] = lockMode;
        args[3] = claimArg(turn, attempt);
        let r: Reply;
        try {
          r = readReply(await commits.call(slot, redisKeys, args));
          if (r.code === 1) commitAll(keys, p);
          else if (r.code === 0) (learn(keys, idx, r), tookTurn(turn));
        } finally {
          tx.release();
        }
        if (tx.expired) throw expiredError();
        switch (r.code) {
          case 1:
            return out.result;
          case 0:
            attempt++;
            break;
          case 2:
            if (isTurn(r)) endTurn(keys, [idx], turn);
            await onLocked(keys, idx, r, waits++, (w) => tx.within(w));
            break;
          case 3:
            throw late();
          default:
            throw unreadable(r.raw);
        }
      }
    } catch (e) {
      endTurn(keys, [idx], turn);
      throw e;
    }
  };

  /** Drops transaction `txid`'s locks on these slots (it never committed). Errors are left to lease expiry. */
  const rollBack = (keys: readonly string[], slots: readonly (readonly number[])[], txid: string): void => {
    for (const idx of slots) void settle(keys, idx, txid, "a", "").catch(() => {});
  };

  /** Applies a committed transaction's locks and ends its turns, then forgets its status. */
  const rollForward = async (keys: readonly string[], slots: readonly (readonly number[])[], txid: string, status: string, turn: Turn): Promise<void> => {
    await Promise.all(slots.map((idx) => settle(keys, idx, txid, "c", turn.id)));
    await client.del(status);
  };

  /** After a commit whose reply never came: learns the outcome from the status key and settles the locks. */
  const settleUnknown = async (keys: readonly string[], slots: readonly (readonly number[])[], txid: string, status: string): Promise<void> => {
    const outcome = await run(RESOLVE, ["", 1, status]);
    await Promise.all(slots.map((idx) => settle(keys, idx, txid, outcome === "c" ? "c" : "a", "")));
    if (outcome === "c") await client.del(status);
  };

  /**
   * Two-phase commit over several slots, in ascending slot order: every slot but the last is
   * validated and locked (PREPARE), then the last slot is validated and written together with the
   * transaction's status key (COMMIT mode 2) — that script is the commit point — and the locks are
   * applied afterwards. A holder that meets a lock past its lease asks the status key: `c` applies
   * it, otherwise `a` is recorded there first, so a late commit can no longer happen.
   */
  const crossSlot = async <T>(keys: readonly string[], step: Step<T>, tx: Tx, slots: readonly (readonly number[])[]): Promise<T> => {
    const turn: Turn = { id: "", taken: false };
    try {
      return await crossSlotRuns(keys, step, tx, slots, turn);
    } catch (e) {
      endTurn(keys, slots, turn);
      throw e;
    }
  };

  const crossSlotRuns = async <T>(keys: readonly string[], step: Step<T>, tx: Tx, slots: readonly (readonly number[])[], turn: Turn): Promise<T> => {
    const deadline = tx.deadline;
    const within: Within = (w) => tx.within(w);
    const secondaries = slots.slice(0, -1);
    const primary = slots[slots.length - 1]!;
    const primaryKeys = slotKeys(keys, primary);
    const primarySlot = slotOf(keys, primary);
    for (let attempt = 0, waits = 0; ; ) {
      checkBudget(attempt, maxAttempts, deadline);
      const admitted = gate.admit(keys, tx);
      if (admitted !== null) await admitted;
      const { out, p } = runStep(keys, step);
      // What it writes is held here until its locks are applied or dropped (they stop readers).
      const mine = p.written;
      gate.hold(keys, mine);
      const txid = fresh();
      const status = names.status(keys[primary[0]!]!, txid);
      const prepared: (readonly number[])[] = [];
      const claim = claimArg(turn, attempt);
      const outcome = await (async (): Promise<"committed" | typeof RETRY | typeof TURN> => {
        for (const idx of secondaries) {
          prepared.push(idx);
          for (let wait = 0; ; wait++) {
            const k = slotKeys(keys, idx);
            const r = readReply(await within(prepares.call(slotOf(keys, idx), k, [String(idx.length), notAfter(deadline), txid, status, String(leaseMs), claim, ...slotArgs(p, idx)])));
            if (r.code === 1) break;
            if (r.code === 0) return (learn(keys, idx, r), tookTurn(turn), RETRY);
            if (r.code === 2 && isTurn(r)) return TURN;
            if (r.code === 2) await onLocked(keys, idx, r, wait, within);
            else if (r.code === 3) throw late();
            else throw unreadable(r.raw);
            checkBudget(0, maxAttempts, deadline);
          }
        }
        for (let wait = 0; ; wait++) {
          let r: Reply;
          try {
            r = readReply(await within(commits.call(primarySlot, [...primaryKeys, status], [String(primary.length), notAfter(deadline), "2", claim, ...slotArgs(p, primary)])));
          } catch (e) {
            void settleUnknown(keys, prepared, txid, status).catch(() => {});
            prepared.length = 0; // settled there, not by the caller's roll-back
            throw e;
          }
          if (r.code === 1) return "committed";
          if (r.code === 0) return (learn(keys, primary, r), tookTurn(turn), RETRY);
          if (r.code === 4) return RETRY;
          if (r.code === 2 && isTurn(r)) return TURN;
          if (r.code === 2) await onLocked(keys, primary, r, wait, within);
          else if (r.code === 3) throw late();
          else throw unreadable(r.raw);
          checkBudget(0, maxAttempts, deadline);
        }
      })().catch((e: unknown) => {
        rollBack(keys, prepared, txid);
        gate.release(mine);
        throw e;
      });
      if (outcome === RETRY || outcome === TURN) {
        rollBack(keys, prepared, txid);
        gate.release(mine);
        if (outcome === RETRY) {
          attempt++;
          continue;
        }
        // Another transaction's turn: wait without holding locks (turns do not follow the slot
        // order that keeps locks free of deadlock) and without a turn of its own.
        endTurn(keys, slots, turn);
        stats.lockWaits++;
        await within(sleep(backoffMs(waits++)));
        continue;
      }
      commitAll(keys, p);
      stats.crossSlot++;
      // This process's transactions on these partitions wait until the locks are applied.
      void rollForward(keys, prepared, txid, status, turn)
        .catch(() => {})
        .finally(() => gate.release(mine));
      return out.result;
    }
  };

  const transact = <T>(keys: readonly string[], step: Step<T>, deadline: number): Promise<T> => {
    if (closed) return Promise.reject(new StoreError("R314", "the redis store is closed"));
    if (hasDuplicate(keys)) return Promise.reject(new StoreError("R314", "a transaction names a partition twice"));
    return new Promise<T>((resolve, reject) => {
      const tx = deadlines.start(deadline, reject, gate);
      const slots = groupBySlot(keys);
      (slots.length <= 1 ? single(keys, step, tx) : crossSlot(keys, step, tx, slots)).then(
        (v) => tx.finish() && resolve(v),
        (e: unknown) => {
          // What Redis holds for these partitions is unknown now: read them again next time.
          for (const k of keys) cache.delete(k);
          if (tx.finish()) reject(storeErrorOf(e));
        },
      );
    });
  };

  const groupBySlot = (keys: readonly string[]): readonly (readonly number[])[] => {
    if (!cluster || oneSlot || keys.length < 2) return ONE_GROUP;
    const bySlot = new Map<number, number[]>();
    keys.forEach((k, i) => {
      const s = slotOfKey(k);
      const list = bySlot.get(s);
      if (list === undefined) bySlot.set(s, [i]);
      else list.push(i);
    });
    return [...bySlot.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  };

  /** The heartbeat: published every `heartbeatMs`, its absence for three intervals a gap. */
  let heartbeat: ReturnType<typeof setInterval> | null = null;
  /** When the current subscription last heard a heartbeat (or was opened, or took effect). */
  let lastBeat = 0;
  /** Whether the current subscription took effect; until it does, it is given longer. */
  let live = false;
  /** This store's heartbeats: the last number sent, the last heard back, and the ones never sent. */
  let beatSent = 0;
  let beatHeard = 0;
  const unsent = new Set<number>();
  /** Own heartbeats skipped over, by when: publishes through different nodes may arrive out of order, so one is lost only when it is late by two intervals. */
  const missing = new Map<number, number>();
  /** On a Cluster: the connection that serves the subscription, to see it move to another node. */
  let serving: unknown = undefined;
  let moved = false;
  const gap = () => {
    for (const g of gapListeners) {
      try {
        g();
      } catch {
        // A listener's exception never reaches the connection.
      }
    }
  };
  const stopHeartbeat = () => {
    if (heartbeat !== null) clearInterval(heartbeat);
    heartbeat = null;
  };
  const startHeartbeat = () => {
    if (heartbeatMs === 0 || heartbeat !== null) return;
    heartbeat = setInterval(() => {
      if (subscriber === null || closed) return stopHeartbeat();
      if (Date.now() - lastBeat > (live ? 3 * heartbeatMs : Math.max(10 * heartbeatMs, 5_000))) {
        // Silent for three beats: the subscription may be gone with its node. Make it afresh
        // (on a live node); once it is in place the gap is reported.
        const old = subscriber;
        subscriber = null;
        old.disconnect();
        listen();
        return;
      }
      // A Cluster client moves its subscription to another node by itself when the node's
      // connection ends, telling no one: what was published meanwhile is lost.
      const now = servingConnection(subscriber);
      if (serving !== undefined && serving !== null && now !== null && now !== serving) moved = true;
      serving = now;
      for (const at of missing.values()) {
        if (Date.now() - at <= 2 * heartbeatMs) continue;
        missing.clear();
        if (live) gap();
        break;
      }
      const n = ++beatSent;
      client.publish(channel, `${HEARTBEAT} ${writer} ${n}`).catch(() => void unsent.add(n));
    }, heartbeatMs);
    (heartbeat as { unref?: () => void }).unref?.();
  };

  /**
   * A heartbeat arrived: the subscription is alive. The first after the subscription moved means
   * messages were lost (a gap); so does one of this store's own that it sent but never heard.
   */
  const heard = (message: string) => {
    lastBeat = Date.now();
    const [, from, seq] = message.split(" ");
    if (from === writer) {
      const n = Number(seq);
      if (Number.isInteger(n) && n > beatHeard) {
        for (let m = beatHeard + 1; m < n && missing.size < 64; m++) if (!unsent.delete(m)) missing.set(m, Date.now());
        beatHeard = n;
      } else missing.delete(n);
    }
    if (moved) {
      moved = false;
      if (live) gap();
    }
  };

  /** Opens the subscription connection (the first time, and again after a missed heartbeat). */
  const listen = () => {
    const sub = (client as { duplicate(): RedisClient }).duplicate();
    subscriber = sub;
    live = false;
    lastBeat = Date.now();
    serving = undefined;
    moved = false;
    beatHeard = beatSent;
    unsent.clear();
    missing.clear();
    sub.on("error", () => {}); // reconnects by itself; a decision never depends on it
    // A dropped subscription loses what is published until it is back: once subscribed again,
    // the gap listeners hear of it (they re-check what they hold against current partitions).
    let lost = false;
    sub.on("close", () => {
      lost = true;
    });
    // Once subscribed (again), with the client that re-checks connected, a re-check is current.
    const subscribed = () => {
      sub
        .subscribe(channel)
        .then(() => connected(client))
        .then(() => {
          if (subscriber !== sub) return;
          live = true;
          lastBeat = Date.now();
          serving = servingConnection(sub);
          gap();
        }, () => {});
    };
    sub.on("ready", () => {
      if (!lost) return;
      lost = false;
      subscribed();
    });
    sub.on("message", (_ch: string, message: string) => {
      if (message.startsWith(HEARTBEAT)) {
        if (subscriber === sub) heard(message);
        return;
      }
      const space = message.indexOf(" ");
      if (space < 0 || message.slice(0, space) === writer) return;
      const key = names.partitionOf(message.slice(space + 1));
      if (key === null) return;
      cache.delete(key);
      for (const l of listeners) {
        try {
          l([key]);
        } catch {
          // A listener's exception never reaches the connection.
        }
      }
    });
    // What was published before the first subscription took effect is a gap too.
    subscribed();
  };

  const subscribe = (listener: (keys: readonly string[]) => void, onGap?: () => void): (() => void) => {
    listeners.add(listener);
    if (onGap !== undefined) gapListeners.add(onGap);
    if (subscriber === null && !closed) {
      listen();
      startHeartbeat();
    }
    return () => {
      listeners.delete(listener);
      if (onGap !== undefined) gapListeners.delete(onGap);
      if (listeners.size === 0 && subscriber !== null) {
        stopHeartbeat();
        subscriber.disconnect();
        subscriber = null;
      }
    };
  };

  return {
    kind: cluster ? "redis-cluster" : "redis",
    client,
    now: options.clock === "server" ? clock.now : Date.now,
    stats,
    transact,
    subscribe,
    async ready() {
      try {
        await clock.sample();
      } catch (e) {
        throw storeErrorOf(e);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      clock.stop();
      void firstSample;
      stopHeartbeat();
      subscriber?.disconnect();
      subscriber = null;
      listeners.clear();
      gapListeners.clear();
      if (owned) await Promise.race([client.quit().catch(() => {}), sleep(1_000)]).then(() => client.disconnect());
    },
  };
}

type Within = <V>(p: Promise<V>) => Promise<V>;

const GRANULE_MS = 2;
/**
 * Conflicts after which a transaction claims its turn on the partitions it lost: a process whose
 * replies come first would otherwise win every race for a hot partition (see scripts.ts).
 */
const CLAIM_AFTER = 3;

/** A transaction's claim id once it sends a claim (`""` before), and whether a script took the turn for it. */
interface Turn {
  id: string;
  taken: boolean;
}

/** How long the `wait`-th wait for another holder's lock or turn sleeps: 0.5 to 15 ms, growing, jittered. */
function backoffMs(wait: number): number {
  return Math.min(10, 1 + (wait >> 2)) * (0.5 + Math.random());
}
/** What groupBySlot answers when every partition is in one slot (the caller needs no groups then). */
const ONE_GROUP: readonly (readonly number[])[] = Object.freeze([]);
const EMPTY: readonly string[] = Object.freeze([]);

function expiredError(): StoreError {
  return new StoreError("R315", "redis did not answer before the deadline");
}

const COUNTS = Array.from({ length: 64 }, (_, i) => String(i));
/** `String(n)` for a transaction's number of partitions, kept for the common ones. */
function count(n: number): string {
  return COUNTS[n] ?? String(n);
}

/**
 * One transaction's deadline, as the store's scripts and waits see it. It is what the deadline's
 * timer holds on the path where Redis answers in time: no closure, no promise, no timer of its own.
 */
class Tx {
  /** True once the deadline passed before the transaction finished. */
  expired = false;
  private done = false;
  /** The partitions the transaction's commit in flight writes: released at the deadline if no reply came first. */
  private held: readonly string[] | null = null;
  private expiry: Promise<never> | null = null;
  private failWait: ((e: unknown) => void) | null = null;

  constructor(
    readonly deadline: number,
    private readonly reject: (e: unknown) => void,
    private readonly gate: WriteGate,
    private readonly bucket: Set<Tx>,
  ) {
    bucket.add(this);
  }

  /** Races a wait against the deadline (waits only: a script in flight is not raced). */
  within<V>(p: Promise<V>): Promise<V> {
    if (this.expired) return Promise.reject(expiredError());
    this.expiry ??= new Promise<never>((_, rej) => (this.failWait = rej));
    return Promise.race([p, this.expiry]);
  }

  /** Marks `keys` as written by the commit in flight (gate.hold was called for them). */
  hold(keys: readonly string[]): void {
    this.held = keys;
  }

  /** The commit in flight answered (or the deadline passed): its partitions go to their next waiters, once. */
  release(): void {
    const h = this.held;
    if (h === null) return;
    this.held = null;
    this.gate.release(h);
  }

  /** The deadline passed. */
  fire(): void {
    if (this.done) return;
    this.done = true;
    this.expired = true;
    this.release();
    this.failWait?.(expiredError());
    this.reject(expiredError());
  }

  /** Marks the transaction done; false if the deadline had already rejected it. */
  finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.bucket.delete(this);
    return true;
  }
}

/**
 * Deadlines of the transactions in flight, in buckets of 2 ms with one timer per bucket: no timer
 * and no promise race per transaction on the path where Redis answers in time.
 */
class Deadlines {
  private readonly buckets = new Map<number, Set<Tx>>();

  start(deadline: number, reject: (e: unknown) => void, gate: WriteGate): Tx {
    return new Tx(deadline, reject, gate, this.bucket(deadline));
  }

  private bucket(deadline: number): Set<Tx> {
    const at = Math.ceil(deadline / GRANULE_MS) * GRANULE_MS;
    let set = this.buckets.get(at);
    if (set === undefined) {
      const s = new Set<Tx>();
      set = s;
      this.buckets.set(at, s);
      const timer = setTimeout(() => {
        this.buckets.delete(at);
        for (const tx of s) tx.fire();
      }, Math.max(0, at - Date.now()));
      timer.unref();
    }
    return set;
  }
}

/** The heartbeat message's head (`~heartbeat <writer> <n>`): no partition name starts so. */
const HEARTBEAT = "~heartbeat";

/** The connection a Cluster client subscribes on (ioredis's subscriber instance), or null for a standalone client. */
function servingConnection(sub: RedisClient): unknown {
  try {
    const s = (sub as unknown as { subscriber?: { getInstance?: () => unknown } }).subscriber;
    return typeof s?.getInstance === "function" ? (s.getInstance() ?? null) : null;
  } catch {
    return null;
  }
}

/** Resolves when `client` is connected (at once if it is). */
function connected(client: RedisClient): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve) => client.once("ready", () => resolve()));
}

const INDEXES: number[][] = [];
/** [0, 1, ..., n - 1], shared. */
function indexes(n: number): readonly number[] {
  return (INDEXES[n] ??= Array.from({ length: n }, (_, i) => i));
}

function checkBudget(attempt: number, max: number, deadline: number): void {
  if (attempt >= max) throw new StoreError("R330", `redis: gave up after ${max} attempts; other holders kept changing these partitions`);
  if (Date.now() >= deadline) throw expiredError();
}

function readReply(raw: unknown): Reply {
  if (!Array.isArray(raw) || raw.length === 0) throw unreadable(raw);
  const code = raw[0];
  // A transaction of a batch that met a Redis error (a key of another type where a lock belongs).
  if (code === 5 && typeof raw[1] === "string") throw new StoreError("R314", `redis: ${raw[1].slice(0, 500)}`);
  if (code !== 0 && code !== 1 && code !== 2 && code !== 3 && code !== 4) throw unreadable(raw);
  return { code, raw };
}

function unreadable(raw: unknown): StoreError {
  let text: string;
  try {
    text = JSON.stringify(raw)?.slice(0, 200) ?? String(raw);
  } catch {
    text = "(unprintable)";
  }
  return new StoreError("R331", `redis: unreadable reply from the store's script: ${text}`);
}

function late(): StoreError {
  return new StoreError("R315", "redis: the script reached the server after the deadline and wrote nothing");
}

function hasDuplicate(keys: readonly string[]): boolean {
  if (keys.length < 2) return false;
  if (keys.length < 8) {
    for (let i = 1; i < keys.length; i++) for (let j = 0; j < i; j++) if (keys[i] === keys[j]) return true;
    return false;
  }
  return new Set(keys).size !== keys.length;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function positive(n: number, name: string): number {
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`redisStore: ${name} must be a positive number`);
  return n;
}

function nonNegative(n: number, name: string): number {
  if (!(n >= 0) || !Number.isFinite(n)) throw new RangeError(`redisStore: ${name} must be zero or more`);
  return n;
}
