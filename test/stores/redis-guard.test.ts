/**
 * Issue "Must show" for Redis: 2 guard processes x 1,000 concurrent requests each against one
 * real redis-server (and a local Cluster), repeated 20 times, decide exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasRedis, noRedis, startCluster, startRedis, type RedisCluster, type RedisServer } from "../helpers/redis-server.js";
import { guardProcesses, type RoundResult } from "../helpers/guard-processes.js";

if (!hasRedis) console.warn(`test/stores/redis-guard.test.ts did not run: ${noRedis}`);

const PROCESSES = 2;
const PER_PROCESS = 1_000;
const ROUNDS = 20;

const LIMIT = "rule one: allow secret.read limit 1 per session";
const COUNT = "rule base: allow *\nrule hundred: deny x.run when count(x.run by principal within 1m) >= 100";
/** One session per round: every request of both processes in it. */
const oneSession = { principal: { kind: "agent", id: "bot-$round" }, action: "secret.read", session: "s-$round" };
/** One principal per round, each request in a session of its own (partitions in many slots). */
const onePrincipal = { principal: { kind: "agent", id: "p-$round" }, action: "x.run", session: "s-$round-$i" };

const total = (rs: readonly RoundResult[], effect: string) => rs.reduce((n, r) => n + (r.effects[effect] ?? 0), 0);

/** `crossSlot`: on the Cluster, the requests' session and principal partitions sit in different slots (two-phase commits). */
function exactness(target: () => { url?: string; cluster?: readonly string[] }, crossSlot: boolean) {
  it(`limit 1 per session: exactly 1 allow of ${PROCESSES} x ${PER_PROCESS}, ${ROUNDS} times`, async () => {
    const procs = await guardProcesses(PROCESSES, { ...target(), prefix: `limit-${Date.now()}:`, policy: LIMIT, timeoutMs: 30_000 });
    try {
      const allows: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const rs = await procs.round(r, PER_PROCESS, oneSession);
        allows.push(total(rs, "allow"));
        expect(total(rs, "deny")).toBe(PROCESSES * PER_PROCESS - 1);
        expect(rs.reduce((n, x) => n + (x.codes.R310 ?? 0), 0)).toBe(PROCESSES * PER_PROCESS - 1);
      }
      expect(allows).toEqual(Array(ROUNDS).fill(1));
    } finally {
      await procs.stop();
    }
  }, 300_000);

  it(`count(... by principal within 1m) >= 100: exactly 100 allowed of ${PROCESSES} x ${PER_PROCESS}, ${ROUNDS} times`, async () => {
    const procs = await guardProcesses(PROCESSES, { ...target(), prefix: `count-${Date.now()}:`, policy: COUNT, timeoutMs: 30_000 });
    try {
      const allows: number[] = [];
      let last: RoundResult[] = [];
      for (let r = 0; r < ROUNDS; r++) allows.push(total((last = await procs.round(r, PER_PROCESS, onePrincipal)), "allow"));
      expect(allows).toEqual(Array(ROUNDS).fill(100));
      if (crossSlot) expect(last.reduce((n, r) => n + r.crossSlot, 0)).toBeGreaterThan(0);
    } finally {
      await procs.stop();
    }
  }, 300_000);
}

describe.runIf(hasRedis || process.env.CI === "true")("guard processes on one redis-server", () => {
  let server: RedisServer;
  beforeAll(async () => void (server = await startRedis()));
  afterAll(async () => server?.stop());
  exactness(() => ({ url: server.url }), false);
});

describe.runIf(hasRedis || process.env.CI === "true")("guard processes on a local Redis Cluster", () => {
  let cluster: RedisCluster;
  beforeAll(async () => void (cluster = await startCluster(3)), 60_000);
  afterAll(async () => cluster?.stop());
  exactness(() => ({ cluster: cluster.urls }), true);
});
