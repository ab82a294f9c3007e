/**
 * The vocabulary and traffic of the isolation property (test/property/isolation.test.ts for the
 * pure decide and the memory store, test/stores/redis-isolation.test.ts for the Redis store): a
 * victim's keys, look-alike keys of others, and the mixed trace — a flood of fresh keys, then the
 * victim's events with the others' in between, some of them dated 25 hours ahead.
 */
import fc from "fast-check";
import type { Guard } from "../../src/guard/index.js";
import { arbSequencePolicy, arbTrace, DEFAULT_VOCABULARY, type PolicyVocabulary } from "../../src/testing/arbitraries-policy.js";

export type Event = ({ decide: Record<string, unknown> } | { observe: Record<string, unknown> }) & { readonly victim: boolean };

export const victim: PolicyVocabulary = {
  ...DEFAULT_VOCABULARY,
  principals: [{ kind: "agent", id: "victim" }, { kind: "service", id: "svc-v", team: "billing" }],
  sessions: ["sv"],
  ips: ["10.9.9.9"],
};

/**
 * Keys that look like the victim's: the same id of another kind, case, a trailing space, a
 * zero-width space, prefixes and separators, ids spelled like the victim's partition keys.
 */
export const others: PolicyVocabulary = {
  ...DEFAULT_VOCABULARY,
  principals: [{ kind: "service", id: "victim" }, { kind: "agent", id: "Victim" }, { kind: "agent", id: "victim " }, { kind: "agent", id: "victim/sv" }, { kind: "agent", id: "victim\u200b" }],
  sessions: ["sv ", "sV", "sv:", "session:sv", "principal:agent/victim"],
  ips: ["10.9.9.90", "10.9.9.9 ", "10.9.9", "context.ip:10.9.9.9"],
};

/** How far ahead the others' far-future events are: beyond a day's windows. */
const DAY = 25 * 3_600_000;

/** A case: a policy over the victim's vocabulary, the victim's trace, the others' trace, which of theirs are far ahead. */
export const arbCase = fc.tuple(arbSequencePolicy(victim), arbTrace(victim, { minLength: 4, maxLength: 16 }), arbTrace(others, { minLength: 4, maxLength: 16 }), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }));

/** A generated trace's events, marked as the victim's or not. */
export function events(trace: readonly ({ decide: unknown } | { observe: unknown })[], isVictim: boolean): Event[] {
  return trace.map((e) => ({ ...(e as object), victim: isVictim }) as Event);
}

/** The mixed traffic: a flood of `flood` fresh keys, then the victim's events with the others' in between, some 25 h ahead. */
export function mix(mine: readonly Event[], theirs: readonly Event[], future: readonly boolean[], flood: number): Event[] {
  const noise = theirs.map((e, i): Event => {
    const shift = future[i % future.length] ? DAY : 0;
    const at = (x: Record<string, unknown>) => ({ ...x, time: (x.time as number) + shift });
    return "decide" in e ? { decide: at(e.decide), victim: false } : { observe: at(e.observe), victim: false };
  });
  const fresh = Array.from({ length: flood }, (_, i): Event => ({ decide: { principal: { kind: "agent", id: `f${i}` }, action: "a.x", session: `flood-${i}`, context: { ip: `10.1.${i >> 8}.${i & 255}` }, time: victim.startTime }, victim: false }));
  const mixed: Event[] = [...fresh];
  mine.forEach((e, i) => mixed.push(...noise.slice(i, i + 1), e));
  mixed.push(...noise.slice(mine.length));
  return mixed;
}

/** What the victim's events got through a Guard: each decision's effect, reasons and flags, each signal's outcome. */
export async function guardAnswers(guard: Guard, list: readonly Event[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const e of list) {
    if ("decide" in e) {
      const d = await guard.decide(e.decide as never);
      if (e.victim) out.push([d.effect, d.reasons.map((x) => [x.rule, x.code ?? null]), d.flags]);
    } else {
      const o = await guard.observe(e.observe as never);
      if (e.victim) out.push([o.revoked.map((x) => x.key), o.flags, o.errors.map((x) => x.code)]);
    }
  }
  return out;
}
