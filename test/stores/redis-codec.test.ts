import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode, toJson } from "../../src/stores/redis/codec.js";

/** Numbers as the core's registers hold them: epoch milliseconds, the empty register, and the rest. */
const number = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
  fc.constantFrom(-1e21, 1e21, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 99_999_999, 100_000_000, 100_000_001, 1e8 * 7 + 5, -0, 0.5, Number.NaN, Infinity),
  fc.maxSafeInteger(),
  fc.double(),
);

describe("redis codec", () => {
  it("encodes a partition exactly as JSON.stringify does", () => {
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: "small" }, number, fc.string(), fc.boolean(), fc.constant(null), tie("array"), tie("object")),
      array: fc.array(tie("any"), { maxLength: 8 }),
      object: fc.dictionary(fc.string({ maxLength: 6 }), tie("any"), { maxKeys: 6 }),
    })).any;
    fc.assert(
      fc.property(value, (v) => {
        expect(toJson(v, 0)).toBe(JSON.stringify(v));
      }),
      { numRuns: 2_000 },
    );
  });

  it("encodes what is not plain data through JSON.stringify: toJSON, class instances, holes, undefined, deep nesting", () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    let deep: unknown = [1_793_491_245_795];
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const cases: unknown[] = [{ at: new Date(0) }, [new Point(1, 2)], { toJSON: () => "mine" }, [1, , 3], [undefined, () => 1], { a: undefined, b: () => 1, c: 2 }, { 2: "b", 1: "a", z: 1 }, deep, Object.create(null) as object];
    for (const c of cases) expect(toJson(c, 0)).toBe(JSON.stringify(c));
    expect(() => toJson({ n: 1n }, 0)).toThrow(TypeError);
  });

  it("decodes what it encodes", () => {
    const partition = { l: "b32fe85786a8296f", t: 1_793_491_249_987, x: 1_793_577_649_987, r: [-1e21, 1_793_491_245_795, -1e21, 1_793_491_200_100] };
    expect(decode(encode("v1", partition), 1 << 20)).toEqual({ version: "v1", value: partition });
  });
});
