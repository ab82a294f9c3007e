import { createHash } from "node:crypto";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { isStoreError, StoreError } from "../store.js";
import type { Script } from "./scripts.js";

/** A client the store talks through: an ioredis `Redis` (standalone) or `Cluster`. */
export type RedisClient = Redis | Cluster;

/**
 * Connection options for clients the store creates itself. The store fails closed and never
 * repeats a script whose outcome it reported as failed, so: no command is resent after a
 * reconnect (its effect is unknown and the decision was already denied), commands issued while
 * disconnected fail at the next reconnect attempt instead of waiting, and reconnects go on
 * forever with a short back-off. Auto-pipelining stays off: it keeps one pipeline in flight per
 * node, so concurrent decisions wait for each other's round trip, and every command written at
 * once measured faster at concurrency 64 (see docs/deployment.md).
 */
const CONNECTION: RedisOptions = {
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  enableAutoPipelining: false,
  connectTimeout: 2_000,
  retryStrategy: (attempt) => Math.min(20 * attempt, 500),
};

export function connect(source: { url?: string; cluster?: readonly string[] }): RedisClient {
  if (source.cluster !== undefined) {
    if (source.cluster.length === 0) throw new RangeError("redisStore: cluster needs at least one node URL");
    const nodes = source.cluster.map((u) => {
      const url = new URL(u);
      return { host: url.hostname, port: Number(url.port || 6379) };
    });
    const first = new URL(source.cluster[0]!);
    const auth: RedisOptions = {
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    };
    const options: ClusterOptions = {
      enableAutoPipelining: false,
      enableOfflineQueue: true,
      maxRedirections: 16,
      retryDelayOnMoved: 0,
      clusterRetryStrategy: (attempt) => Math.min(20 * attempt, 500),
      redisOptions: { ...CONNECTION, ...auth },
    };
    return quiet(new Cluster(nodes, options));
  }
  if (source.url === undefined) throw new RangeError("redisStore: give a client, a url or cluster node URLs");
  return quiet(new Redis(source.url, CONNECTION));
}

/** Connection errors reach each transaction as a StoreError; the client's own event is not a crash. */
function quiet<C extends RedisClient>(client: C): C {
  client.on("error", () => {});
  return client;
}

/**
 * Runs a script by its SHA1 (EVALSHA), loading it with EVAL when a node answers NOSCRIPT. The
 * call is `["", numkeys, ...keys, ...args]` in one array whose first entry the runner sets to the
 * script (its SHA1, or its text for EVAL): the array becomes the command's arguments as it is,
 * with no further copy of a batch's arguments.
 */
export type ScriptCall = (script: Script, call: (string | number)[]) => Promise<unknown>;

export function scriptRunner(client: RedisClient): ScriptCall {
  const shas = new Map<Script, string>();
  return async (script, call) => {
    let sha = shas.get(script);
    if (sha === undefined) {
      sha = createHash("sha1").update(script.lua).digest("hex");
      shas.set(script, sha);
    }
    try {
      call[0] = sha;
      return await client.call("evalsha", call);
    } catch (e) {
      // A node that restarted or never saw the script: EVAL runs it and caches it there. The
      // script did not run on NOSCRIPT, so sending it again cannot apply it twice.
      if (e instanceof Error && e.message.startsWith("NOSCRIPT")) {
        call[0] = script.lua;
        return client.call("eval", call);
      }
      throw e;
    }
  };
}

/** A store error for a failed command: a connection problem or an error reply from Redis. */
export function storeErrorOf(e: unknown): StoreError {
  if (isStoreError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new StoreError("R314", `redis: ${message.slice(0, 500)}`);
}
