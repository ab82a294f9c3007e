import { describe, expect, it } from "vitest";
import { formatNumber, formatResourceGlob, formatString } from "../../src/format/lexical.js";

describe("formatString", () => {
  it("writes the grammar's escapes", () => {
    expect(formatString('say "hi"\\now')).toBe('"say \\"hi\\"\\\\now"');
    expect(formatString("a\nb\tc\rd")).toBe('"a\\nb\\tc\\rd"');
  });

  it("keeps printable unicode as it is", () => {
    expect(formatString("café 日本語 😀 👩‍💻")).toBe('"café 日本語 😀 👩\\u{200D}💻"');
  });

  it("writes invisible and BIDI characters as \\u{HEX}", () => {
    expect(formatString("a\u202eb\u0000c\u2028")).toBe('"a\\u{202E}b\\u{0}c\\u{2028}"');
  });
});

describe("formatNumber", () => {
  it.each([
    [3, "3"],
    [-1, "-1"],
    [0.9, "0.9"],
    [-0, "0"],
    [1e21, "1000000000000000000000"],
    [1.5e-7, "0.00000015"],
    [-2.25e-9, "-0.00000000225"],
    [123456789012, "123456789012"],
  ])("%s is written %s", (n, text) => {
    expect(formatNumber(n)).toBe(text);
    expect(Number(text)).toBe(n + 0);
  });

  it("refuses NaN and infinities", () => {
    expect(() => formatNumber(Number.NaN)).toThrow(RangeError);
    expect(() => formatNumber(Infinity)).toThrow(RangeError);
  });
});

describe("formatResourceGlob", () => {
  it("leaves plain paths unquoted", () => {
    expect(formatResourceGlob("repo/*")).toBe("repo/*");
    expect(formatResourceGlob("secret/billing/*")).toBe("secret/billing/*");
    expect(formatResourceGlob("1h/x")).toBe("1h/x");
    expect(formatResourceGlob("docs/café/*")).toBe("docs/café/*");
  });

  it("quotes anything the resource-path token would not read back", () => {
    expect(formatResourceGlob("no-slash")).toBe('"no-slash"');
    expect(formatResourceGlob("has space/x")).toBe('"has space/x"');
    expect(formatResourceGlob("/abs")).toBe('"/abs"');
    expect(formatResourceGlob("a/b c")).toBe('"a/b c"');
    expect(formatResourceGlob("a//b")).toBe('"a//b"');
    expect(formatResourceGlob("p\u0430ypal/x")).toBe('"p\u0430ypal/x"');
  });
});
