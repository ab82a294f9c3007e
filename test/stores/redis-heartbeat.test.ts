/**
 * The subscription heartbeat of the Redis store on a local Cluster (docs/deployment.md, docs/reevaluation.md
 * "Holds across instances"): when the node that serves the change subscription dies, the missed
 * heartbeat is a gap — the Guard re-checks every hold — and the subscription is made afresh on a
 * live node, where the next change arrives.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, type Guard, type HoldChange } from "../../src/guard/index.js";
import { redisStore, type RedisStore } from "../../src/stores/redis/index.js";
import { hasRedis, noRedis, startCluster, type RedisCluster } from "../helpers/redis-server.js";

const run = promisify(execFile);
if (!hasRedis) console.warn(`test/stores/redis-heartbeat.test.ts did not run: ${noRedis}`);

const POLICY = `
actions {
  job.run
}
rule jobs: allow job.run for service *
`;

async function until(test: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.runIf(hasRedis || process.env.CI === "true")("the subscription heartbeat on a local Redis Cluster", () => {
  let cluster: RedisCluster;
  let store: RedisStore;
  let other: RedisStore;
  let holder: Guard;
  let revoker: Guard;
  const prefix = "leash:heartbeat:";

  beforeAll(async () => {
    cluster = await startCluster(3);
    store = redisStore({ cluster: cluster.urls, prefix, heartbeatMs: 250 });
    other = redisStore({ cluster: cluster.urls, prefix, heartbeatMs: 0 });
    await store.ready();
    await other.ready();
    holder = createGuard({ policy: compilePolicyOrThrow(POLICY), store, timeoutMs: 2_000 });
    revoker = createGuard({ policy: compilePolicyOrThrow(POLICY), store: other, timeoutMs: 2_000 });
  }, 90_000);
  afterAll(async () => {
    await holder?.close();
    await revoker?.close();
    await cluster?.stop();
  });

  it("a killed node that served the subscription is a gap: the holds are re-checked and the next revocation arrives", async () => {
    let gaps = 0;
    let gapAt = 0;
    const keys: string[] = [];
    await new Promise<void>((resolve) =>
      store.subscribe(
        (k) => keys.push(...k),
        () => {
          gaps++;
          gapAt = Date.now();
          resolve();
        },
      ),
    );
    expect(gaps).toBe(1);
    // The node whose clients include one in subscribe mode serves the subscription.
    const listed = await Promise.all(cluster.nodes.map(async (n) => (await run("redis-cli", ["-p", String(n.port), "client", "list"])).stdout));
    const serving = listed.findIndex((l) => /\bsub=1\b/.test(l));
    expect(serving).toBeGreaterThanOrEqual(0);

    // Holds on sessions; while the subscription is dead, other instances revoke them: those
    // publishes are lost, and only the gap's full re-check (cause "resync") turns the holds.
    const changes = new Map<string, HoldChange>();
    for (let i = 0; i < 12; i++) {
      const request = { principal: { kind: "service", id: "batch" }, action: "job.run", session: `hb-${i}` };
      const d = await holder.decide(request);
      expect(d.effect).toBe("allow");
      holder.hold(d, request, { onChange: (c) => void changes.set(`session:hb-${i}`, c) });
    }
    const killed = Date.now();
    await cluster.nodes[serving]!.kill();
    // At once, before the heartbeat can notice; a session on the killed node's slots fails.
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => revoker.revoke({ session: `hb-${i}` }, "operator")));
    const revoked = outcomes.filter((r) => r.error === undefined).map((r) => r.key);
    const revokedWithin = Date.now() - killed;
    expect(revoked.length).toBeGreaterThan(0);
    await until(() => gaps >= 2, 5_000);
    const detected = gapAt - killed;
    await until(() => revoked.every((k) => changes.has(k)), 5_000);
    const turned = Date.now() - killed;
    const causes = revoked.map((k) => changes.get(k)!.cause);
    console.log(`the subscription's node killed: gap reported after ${detected} ms (heartbeat every 250 ms); ${revoked.length} revocations made on another instance within ${revokedWithin} ms, every hold turned by ${turned} ms (${causes.filter((c) => c === "resync").length} by the gap's re-check, the others notified)`);
    // Each revoked hold turned: to the revocation, or, when the partitions it reads live on the
    // killed node (a Cluster without replicas), to a deny for the unavailable store (fail closed).
    for (const k of revoked) {
      const c = changes.get(k)!;
      expect(c.decision.effect).not.toBe("allow");
      expect(c.revoked || c.unavailable).toBe(true);
      expect(c.revoked ? c.cause === "resync" || c.cause === "notified" : true).toBe(true);
    }

    // With the node back, the new subscription hears the next revocation made on another instance.
    await cluster.nodes[serving]!.start();
    for (const n of cluster.nodes) {
      for (let i = 0; !(await run("redis-cli", ["-p", String(n.port), "cluster", "info"])).stdout.includes("cluster_state:ok"); i++) {
        if (i > 400) throw new Error("the cluster did not recover");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    let session = "";
    for (let i = 0; i < 50 && session === ""; i++) {
      const r = await revoker.revoke({ session: `hb-next-${i}` }, "operator");
      if (r.error === undefined) session = r.key;
    }
    expect(session).not.toBe("");
    await until(() => keys.includes(session), 3_000);
  }, 120_000);
});
