/**
 * Isolation for the pure `decide(state, …)` and the Guard over `memoryStore`: for random policies,
 * traffic on other keys — ids that look like the victim's (another kind, case, a trailing space,
 * prefixes, separators), events dated 25 hours ahead, a flood of keys below the cap — never changes
 * a decision of the victim's keys. Each trace runs twice: the victim's events alone, and the same
 * events with the other traffic in between; the victim's answers must be equal.
 * (test/stores/redis-isolation.test.ts holds the same property over the Redis store; both take
 * their vocabulary and traffic from test/helpers/isolation.ts.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import type { PolicyState } from "../../src/runtime/types.js";
import { memoryStore } from "../../src/stores/memory.js";
import { observe } from "../../src/runtime/operations.js";
import { arbCase, events, guardAnswers, mix, type Event } from "../helpers/isolation.js";
import { DEPTH, TIMEOUT } from "./harness.js";

const FLOOD = 200;
/** Below the cap: the flood, the others and the victim's keys all fit. */
const MAX_KEYS = 1_000;
const RUNS = 60 * DEPTH;

/** What a victim's event got: the decision's effect, reasons and flags, or the signal's outcome. */
type Answer = unknown;

describe("isolation: other keys' traffic never changes a victim's decisions", () => {
  it("pure decide(state, …)", () => {
    fc.assert(
      fc.property(arbCase, ([source, mine, theirs, future]) => {
        const policy = compilePolicyOrThrow(source, { maxKeys: MAX_KEYS });
        const run = (list: readonly Event[]): Answer[] => {
          let state: PolicyState = policy.initialState();
          const out: Answer[] = [];
          for (const e of list) {
            if ("decide" in e) {
              const r = policy.decide(state, e.decide);
              state = r.state;
              if (e.victim) out.push([r.decision.effect, r.decision.reasons.map((x) => [x.rule, x.code ?? null]), r.decision.flags]);
            } else {
              const r = observe(policy, state, e.observe);
              state = r.state;
              if (e.victim) out.push([r.revoked.map((x) => x.key), r.flags, r.errors.map((x) => x.code)]);
            }
          }
          expect(state.evictions).toBe(0);
          return out;
        };
        const own = events(mine, true);
        expect(run(mix(own, events(theirs, false), future, FLOOD))).toEqual(run(own));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it("the Guard over memoryStore", async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, async ([source, mine, theirs, future]) => {
        const policy = compilePolicyOrThrow(source);
        const run = async (list: readonly Event[]): Promise<Answer[]> => {
          const guard = createGuard({ policy, store: memoryStore({ maxKeys: MAX_KEYS }), timeoutMs: 10_000 });
          try {
            return await guardAnswers(guard, list);
          } finally {
            await guard.close();
          }
        };
        const own = events(mine, true);
        expect(await run(mix(own, events(theirs, false), future, FLOOD))).toEqual(await run(own));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);
});
