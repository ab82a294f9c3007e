import { describe, expect, it } from "vitest";
import { WriteGate } from "../../src/stores/redis/local.js";

const within = { within: <V>(p: Promise<V>) => p };
const tick = () => new Promise((r) => setTimeout(r, 0));

describe("WriteGate (the Redis store's in-process admission)", () => {
  it("admits readers of a partition nobody writes at once, any number of them", () => {
    const gate = new WriteGate();
    for (let i = 0; i < 100; i++) {
      expect(gate.admit(["principal:p", `session:${i}`], within)).toBeNull();
      gate.hold(["principal:p", `session:${i}`], [`session:${i}`]);
    }
  });

  it("lets writers of one partition go one after the other, in arrival order", async () => {
    const gate = new WriteGate();
    const order: number[] = [];
    const writer = async (n: number) => {
      const w = gate.admit(["session:s"], within);
      if (w !== null) await w;
      gate.hold(["session:s"], ["session:s"]);
      order.push(n);
      await tick();
      gate.release(["session:s"]);
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer(i)));
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("passes the turn on when a woken transaction writes nothing or gave up waiting", async () => {
    const gate = new WriteGate();
    gate.hold(["k"], ["k"]);
    let dead!: (e: Error) => void;
    const deadline = new Promise<never>((_, reject) => (dead = reject));
    const gaveUp = gate.admit(["k"], { within: (p) => Promise.race([p, deadline]) })!.catch(() => "gave up");
    const reader = gate.admit(["k"], within)!.then(() => gate.hold(["k"], []));
    const writer = gate.admit(["k"], within)!.then(() => gate.hold(["k"], ["k"]));
    dead(new Error("deadline"));
    expect(await gaveUp).toBe("gave up");
    gate.release(["k"]);
    await Promise.all([reader, writer]);
    expect(gate.admit(["k"], within)).not.toBeNull(); // the writer holds it now
  });
});
