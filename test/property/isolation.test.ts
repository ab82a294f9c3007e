/**
 * Isolation for the pure `decide(state, …)` and the Guard over `memoryStore`: for random policies,
 * traffic on other keys — ids that look like the victim's (another kind, case, a trailing space,
 * prefixes, separators), events dated 25 hours ahead, a flood of keys below the cap — never changes
 * a decision of the victim's keys. Each trace runs twice: the victim's events alone, and the same
 * events with the other traffic in between; the victim's answers must be equal.
 * (test/stores/redis-isolation.test.ts holds the same property over the Redis store.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import type { PolicyState } from "../../src/runtime/types.js";
import { memoryStore } from "../../src/stores/memory.js";
import { arbSequencePolicy, arbTrace, DEFAULT_VOCABULARY, type PolicyVocabulary } from "../../src/testing/arbitraries-policy.js";
import { DEPTH, TIMEOUT } from "./harness.js";
import { observe } from "../../src/runtime/operations.js";

type Event = ({ decide: Record<string, unknown> } | { observe: Record<string, unknown> }) & { readonly victim: boolean };

const victim: PolicyVocabulary = {
  ...DEFAULT_VOCABULARY,
  principals: [{ kind: "agent", id: "victim" }, { kind: "service", id: "svc-v", team: "billing" }],
  sessions: ["sv"],
  ips: ["10.9.9.9"],
};
/** Keys that look like the victim's: same id of another kind, case, trailing space, prefixes and separators. */
const others: PolicyVocabulary = {
  ...DEFAULT_VOCABULARY,
  principals: [{ kind: "service", id: "victim" }, { kind: "agent", id: "Victim" }, { kind: "agent", id: "victim " }, { kind: "agent", id: "victim/sv" }, { kind: "agent", id: "victim\u200b" }],
  sessions: ["sv ", "sV", "sv:", "session:sv", "principal:agent/victim"],
  ips: ["10.9.9.90", "10.9.9.9 ", "10.9.9", "context.ip:10.9.9.9"],
};
const DAY = 25 * 3_600_000;
const FLOOD = 200;
/** Below the cap: the flood, the others and the victim's keys all fit. */
const MAX_KEYS = 1_000;
const RUNS = 60 * DEPTH;

/** What a victim's event got: the decision's effect, reasons and flags, or the signal's outcome. */
type Answer = unknown;

/** The mixed traffic: a flood of fresh keys, then the victim's events with the others' in between, some 25 h ahead. */
function mix(mine: readonly Event[], theirs: readonly Event[], future: readonly boolean[]): Event[] {
  const noise = theirs.map((e, i): Event => {
    const shift = future[i % future.length] ? DAY : 0;
    const at = (x: Record<string, unknown>) => ({ ...x, time: (x.time as number) + shift });
    return "decide" in e ? { decide: at(e.decide), victim: false } : { observe: at(e.observe), victim: false };
  });
  const flood = Array.from({ length: FLOOD }, (_, i): Event => ({ decide: { principal: { kind: "agent", id: `f${i}` }, action: "a.x", session: `flood-${i}`, context: { ip: `10.1.${i >> 8}.${i & 255}` }, time: victim.startTime }, victim: false }));
  const mixed: Event[] = [...flood];
  mine.forEach((e, i) => mixed.push(...noise.slice(i, i + 1), e));
  mixed.push(...noise.slice(mine.length));
  return mixed;
}

const arbCase = fc.tuple(arbSequencePolicy(victim), arbTrace(victim, { minLength: 4, maxLength: 16 }), arbTrace(others, { minLength: 4, maxLength: 16 }), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }));

function events(trace: readonly ({ decide: unknown } | { observe: unknown })[], isVictim: boolean): Event[] {
  return trace.map((e) => ({ ...(e as object), victim: isVictim }) as Event);
}

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
        expect(run(mix(own, events(theirs, false), future))).toEqual(run(own));
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
          const out: Answer[] = [];
          try {
            for (const e of list) {
              if ("decide" in e) {
                const d = await guard.decide(e.decide as never);
                if (e.victim) out.push([d.effect, d.reasons.map((x) => [x.rule, x.code ?? null]), d.flags]);
              } else {
                const o = await guard.observe(e.observe as never);
                if (e.victim) out.push([o.revoked.map((x) => x.key), o.flags, o.errors.map((x) => x.code)]);
              }
            }
          } finally {
            await guard.close();
          }
          return out;
        };
        const own = events(mine, true);
        expect(await run(mix(own, events(theirs, false), future))).toEqual(await run(own));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);
});
