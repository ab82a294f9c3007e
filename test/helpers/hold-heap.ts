/**
 * Measures the heap a hold costs: N holds of allow decisions on a memory-store Guard with a
 * driven clock, the heap before and after (gc forced: run with --expose-gc), then again after
 * every hold was re-checked five times, and once more after the deadlines turned them all.
 * argv[2]: N. stdout: one JSON line `{ holds, timers, bytesPerHold, bytesPerHoldAfterRechecks, changes }`.
 */
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, manualClock, type Hold } from "../../src/guard/index.js";

const n = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const policy = compilePolicyOrThrow("rule agent-grants: allow ticket.* for agent * valid for 15m\nrule idp: revoke signal session.revoked\nrule noted: flag * when after(signal noise.seen by session within 1h)");
const clock = manualClock(0);
const guard = createGuard({ policy, clock });
const requests = Array.from({ length: n }, (_, i) => ({ principal: { kind: "agent", id: "bot" }, action: "ticket.read", session: `s${i}` }));
const decisions = [];
for (const r of requests) decisions.push(await guard.decide(r));
let changes = 0;
const onChange = () => void changes++;
const holds: Hold[] = [];
const before = heap();
for (let i = 0; i < n; i++) holds.push(guard.hold(decisions[i]!, requests[i]!, { onChange }));
const held = heap();
const timers = clock.pending;
// Five rounds of rechecks (unknown signals on every session: each touches the session's partition).
for (let round = 0; round < 5; round++) {
  await Promise.all(requests.map((r) => guard.observe({ signal: "noise.seen", session: r.session })));
  await clock.advance(1);
}
const after = heap();
await clock.set(15 * 60_000);
process.stdout.write(
  `${JSON.stringify({
    holds: holds.filter((h) => !h.released).length,
    timers,
    bytesPerHold: Math.round((held - before) / n),
    bytesPerHoldAfterRechecks: Math.round((after - before) / n),
    changes,
  })}\n`,
);
