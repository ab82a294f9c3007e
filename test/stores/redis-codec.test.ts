import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode } from "../../src/stores/redis/codec.js";
import { Partition, Revocation } from "../../src/runtime/partition.js";

const MAX = 1_048_576;
/** What a JSON round trip makes of a value: the meaning every encoding must keep. */
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe("the Redis store's partition encoding", () => {
  it("writes epoch-sized integers relative to a base and decodes to the JSON round trip", () => {
    const t = Date.UTC(2026, 10, 1, 12);
    const p = new Partition("0d143bfd2ddd385a", t, t + 86_400_000, [t - 4_512, -1e21, t, -1e21, 7, 0.5, -0], undefined, undefined);
    const stored = encode("w1", p);
    expect(stored).toBe(`w1:~${t}~{"l":"0d143bfd2ddd385a","t":@0,"x":@86400000,"r":[@-4512,-1e+21,@0,-1e+21,7,0.5,0]}`);
    expect(decode(stored, MAX)).toEqual({ version: "w1", value: viaJson(p) });
    expect(stored.length).toBeLessThan(`w1:${JSON.stringify(p)}`.length);
  });

  it("reads the plain JSON form that earlier versions wrote", () => {
    const value = { l: "x", t: 1_764_547_200_000, r: [1, "a"] };
    expect(decode(`v9:${JSON.stringify(value)}`, MAX)).toEqual({ version: "v9", value });
  });

  it("leaves what JSON treats in its own way to JSON (toJSON, Dates, cycles, BigInt, undefined)", () => {
    const d = new Date(1_764_547_200_000);
    expect(decode(encode("a", { d }), MAX).value).toEqual(viaJson({ d }));
    expect(decode(encode("a", { toJSON: () => [1, 2] }), MAX).value).toEqual([1, 2]);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => encode("a", cycle)).toThrow(TypeError);
    expect(() => encode("a", { n: 1n })).toThrow(TypeError);
    expect(() => encode("a", undefined)).toThrow(TypeError);
    expect(decode(encode("a", new Partition("l", 1, 2, [], new Revocation(1, null, "why"), undefined)), MAX).value).toEqual({ l: "l", t: 1, x: 2, r: [], v: { t: 1, rule: null, reason: "why" } });
  });

  it("decodes to the JSON round trip of any JSON-like value, large integers included", () => {
    const big = fc.oneof(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.constantFrom(1_764_547_200_000, -1e21, 2 ** 31, -(2 ** 31), 2 ** 53, -0));
    const leaf = fc.oneof(big, fc.double(), fc.string(), fc.string({ unit: "binary", maxLength: 8 }), fc.constantFrom("@1", '"@1"', "~1~", "\\", null, true, false, undefined));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 6 }), fc.dictionary(fc.string({ maxLength: 4 }), tie("v"), { maxKeys: 5 })),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        if (JSON.stringify(v) === undefined) return;
        expect(decode(encode("v", v), MAX)).toEqual({ version: "v", value: viaJson(v) });
      }),
      { numRuns: 500 },
    );
  });

  it("hands a corrupted or foreign value to the step as its raw text (the core's R303)", () => {
    for (const stored of ["v:~12~{\"t\":@1x}", "v:~~[1]", "v:~1~[@99999999999]", "v:~1e3~[@1]", "v:~9007199254740991~[@10]", "v:{", "plain text"]) {
      expect(decode(stored, MAX).value).toBe(stored);
    }
    expect(decode("v:~100~[@1]", 4).value).toBe("v:~100~[@1]");
  });
});
