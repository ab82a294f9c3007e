/**
 * Isolation over the Redis store: for random policies, traffic on other keys — ids that look like
 * the victim's, far-future times, a flood of keys — never changes a decision of the victim's keys.
 * Each trace runs twice through a Guard over redisStore (fresh prefixes): the victim's events alone,
 * and the same events with the other traffic in between; the victim's answers must be equal. The
 * vocabulary and traffic are test/helpers/isolation.ts's, shared with test/property/isolation.test.ts.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { arbCase, events, guardAnswers, mix, type Event } from "../helpers/isolation.js";
import { hasRedis, noRedis, startRedis, type RedisServer } from "../helpers/redis-server.js";

if (!hasRedis) console.warn(`test/stores/redis-isolation.test.ts did not run: ${noRedis}`);

const FLOOD = 60;

describe.runIf(hasRedis || process.env.CI === "true")("isolation over redisStore", () => {
  let server: RedisServer;
  let n = 0;
  beforeAll(async () => void (server = await startRedis()));
  afterAll(async () => server?.stop());

  it("traffic on other keys (look-alike ids, far-future times, a flood of keys) never changes a victim's decision", async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, async ([source, mine, theirs, future]) => {
        const policy = compilePolicyOrThrow(source);
        const own = events(mine, true);
        const run = async (list: readonly Event[]) => {
          const store = redisStore({ url: server.url, prefix: `iso${n++}:` });
          const guard = createGuard({ policy, store, timeoutMs: 10_000 });
          try {
            return await guardAnswers(guard, list);
          } finally {
            await guard.close();
          }
        };
        expect(await run(mix(own, events(theirs, false), future, FLOOD))).toEqual(await run(own));
      }),
      { numRuns: process.env.LEASH_DEEP ? 200 : 20 },
    );
  }, 300_000);
});
