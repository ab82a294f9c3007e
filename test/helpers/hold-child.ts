/**
 * One Guard process that holds decisions, for the fleet tests: a Guard over a Redis store that
 * decides and holds the requests the parent sends, and reports every change of a hold at once.
 * Started by `holdProcess` (hold-process.ts).
 *
 * argv[2]: JSON `{ url?, cluster?, prefix, policy }`. stdin: one JSON line per command,
 * `{ op: "hold", id, request }`. stdout: `ready`, then `{ event: "held", id, effect }` once a
 * request is decided and held, and `{ event: "change", id, effect, cause, revoked, unavailable, reason }`
 * for every change.
 */
import { createInterface } from "node:readline";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { redisStore } from "../../src/stores/redis/index.js";

interface Config {
  url?: string;
  cluster?: string[];
  prefix: string;
  policy: string;
}

const config = JSON.parse(process.argv[2]!) as Config;
const store = redisStore({ ...(config.url ? { url: config.url } : { cluster: config.cluster! }), prefix: config.prefix });
const guard = createGuard({ policy: compilePolicyOrThrow(config.policy), store, timeoutMs: 2_000 });
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

await store.ready();
// Ready once the store's subscription is in place (the Guard's holds share it).
await new Promise<void>((resolve) => store.subscribe(() => {}, resolve));
say({ event: "ready" });
for await (const line of createInterface({ input: process.stdin })) {
  const { id, request } = JSON.parse(line) as { op: "hold"; id: string; request: Record<string, unknown> };
  const decision = await guard.decide(request as never);
  guard.hold(decision, request as never, {
    onChange: (c) => say({ event: "change", id, effect: c.decision.effect, cause: c.cause, revoked: c.revoked, unavailable: c.unavailable, reason: c.reason }),
  });
  say({ event: "held", id, effect: decision.effect });
}
await guard.close();
