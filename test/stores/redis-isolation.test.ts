/**
 * Isolation over the Redis store: for random policies, traffic on other keys — ids that look like
 * the victim's, far-future times, a flood of keys — never changes a decision of the victim's keys.
 * Each trace runs twice through a Guard over redisStore (fresh prefixes): the victim's events alone,
 * and the same events with the other traffic in between; the victim's answers must be equal.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { arbSequencePolicy, arbTrace, DEFAULT_VOCABULARY, type PolicyVocabulary } from "../../src/testing/arbitraries-policy.js";
import { hasRedis, noRedis, startRedis, type RedisServer } from "../helpers/redis-server.js";

if (!hasRedis) console.warn(`test/stores/redis-isolation.test.ts did not run: ${noRedis}`);

type Event = { decide: Record<string, unknown> } | { observe: Record<string, unknown> };

const victim: PolicyVocabulary = {
  ...DEFAULT_VOCABULARY,
  principals: [{ kind: "agent", id: "victim" }, { kind: "service", id: "svc-v", team: "billing" }],
  sessions: ["sv"],
  ips: ["10.9.9.9"],
};
/** Keys that look like the victim's: same id of another kind, case, trailing space, prefixes. */
const others: PolicyVocabulary = {
  ...DEFAULT_VOCABULARY,
  principals: [{ kind: "service", id: "victim" }, { kind: "agent", id: "Victim" }, { kind: "agent", id: "victim " }, { kind: "agent", id: "victim/sv" }],
  sessions: ["sv ", "sV", "sv:", "session:sv"],
  ips: ["10.9.9.90", "10.9.9.9 ", "10.9.9"],
};
const DAY = 25 * 3_600_000;
const FLOOD = 60;

/** What a victim's event got: the decision's effect and reasons, or the signal's outcome. */
async function answers(guard: ReturnType<typeof createGuard>, events: readonly (Event & { victim: boolean })[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const e of events) {
    if ("decide" in e) {
      const d = await guard.decide(e.decide as never);
      if (e.victim) out.push([d.effect, d.reasons.map((r) => [r.rule, r.code ?? null]), d.flags]);
    } else {
      const o = await guard.observe(e.observe as never);
      if (e.victim) out.push([o.revoked.map((r) => r.key), o.flags, o.errors.map((x) => x.code)]);
    }
  }
  return out;
}

describe.runIf(hasRedis || process.env.CI === "true")("isolation over redisStore", () => {
  let server: RedisServer;
  let n = 0;
  beforeAll(async () => void (server = await startRedis()));
  afterAll(async () => server?.stop());

  it("traffic on other keys (look-alike ids, far-future times, a flood of keys) never changes a victim's decision", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbSequencePolicy(victim),
        arbTrace(victim, { minLength: 4, maxLength: 16 }),
        arbTrace(others, { minLength: 4, maxLength: 16 }),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        async (source, mine, theirs, future) => {
          const policy = compilePolicyOrThrow(source);
          const own = mine.map((e) => ({ ...e, victim: true }) as unknown as Event & { victim: boolean });
          // Others: their trace, some of it dated 25 h ahead, then a flood of fresh sessions.
          const noise = theirs.map((e, i) => {
            const shift = future[i % future.length] ? DAY : 0;
            const at = (x: Record<string, unknown>) => ({ ...x, time: (x.time as number) + shift });
            return ("decide" in e ? { decide: at(e.decide as never), victim: false } : { observe: at(e.observe as never), victim: false }) as unknown as Event & { victim: boolean };
          });
          const flood = Array.from({ length: FLOOD }, (_, i) => ({ decide: { principal: { kind: "agent", id: `f${i}` }, action: "a.x", session: `flood-${i}`, time: victim.startTime }, victim: false }));
          const mixed: (Event & { victim: boolean })[] = [...flood];
          own.forEach((e, i) => mixed.push(...noise.slice(i, i + 1), e));
          mixed.push(...noise.slice(own.length));
          const run = async (events: readonly (Event & { victim: boolean })[]) => {
            const store = redisStore({ url: server.url, prefix: `iso${n++}:` });
            const guard = createGuard({ policy, store, timeoutMs: 10_000 });
            try {
              return await answers(guard, events);
            } finally {
              await guard.close();
            }
          };
          expect(await run(mixed)).toEqual(await run(own));
        },
      ),
      { numRuns: process.env.LEASH_DEEP ? 200 : 20 },
    );
  }, 300_000);
});
