import { describe, expect, it } from "vitest";
import { lspPolicy } from "../../bench/lsp-policy.js";
import { checkSource } from "../../src/check/source.js";
import { parsePolicy } from "../../src/syntax/index.js";

describe("the LSP bench policy", () => {
  it("has the rules asked for, each with a body of its own, and nothing leash check reports", () => {
    const text = lspPolicy(2000);
    expect(parsePolicy(text).ast.items).toHaveLength(2000);
    // A new lint that flags it would make the bench time warnings a real policy does not have.
    expect(checkSource(text, "bench.rules")).toEqual([]);
  });
});
