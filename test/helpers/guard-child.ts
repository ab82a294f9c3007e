/**
 * One guard process for the exactness tests: a Guard over a Redis store, deciding a burst of
 * concurrent requests whenever the parent asks. Started by `guardProcesses` (guard-processes.ts).
 *
 * argv[2]: JSON `{ url?, cluster?, prefix, policy, timeoutMs }`. stdin: one JSON line per round,
 * `{ round, n, request }` where `request` has `$round` and `$i` placeholders in its strings.
 * stdout: `ready`, then per round `{ round, effects: { allow: n, ... }, codes: { R310: n, ... }, crossSlot }`
 * (crossSlot: the store's cross-slot commits so far).
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
  timeoutMs: number;
}

const config = JSON.parse(process.argv[2]!) as Config;
const store = redisStore({ ...(config.url ? { url: config.url } : { cluster: config.cluster! }), prefix: config.prefix });
const guard = createGuard({ policy: compilePolicyOrThrow(config.policy), store, timeoutMs: config.timeoutMs });

const fill = (v: unknown, round: number, i: number): unknown =>
  typeof v === "string"
    ? v.replaceAll("$round", String(round)).replaceAll("$i", String(i))
    : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, round, i)]))
      : v;

await store.ready();
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  const { round, n, request } = JSON.parse(line) as { round: number; n: number; request: Record<string, unknown> };
  const decisions = await Promise.all(Array.from({ length: n }, (_, i) => guard.decide(fill(request, round, i) as never)));
  const effects: Record<string, number> = {};
  const codes: Record<string, number> = {};
  for (const d of decisions) {
    effects[d.effect] = (effects[d.effect] ?? 0) + 1;
    for (const r of d.reasons) if (r.code !== undefined) codes[r.code] = (codes[r.code] ?? 0) + 1;
  }
  process.stdout.write(`${JSON.stringify({ round, effects, codes, crossSlot: store.stats.crossSlot })}\n`);
}
await guard.close();
