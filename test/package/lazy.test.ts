import { describe, expect, it, vi } from "vitest";

/**
 * The lexer and the parser are built on first use, not when a module is imported: an application
 * that only decides (or loads a compiled policy) never builds them. chevrotain's real Lexer and
 * CstParser count their constructions here.
 */
const built = vi.hoisted(() => ({ lexers: 0, parsers: 0 }));

vi.mock("chevrotain", async (importOriginal) => {
  const real = await importOriginal<typeof import("chevrotain")>();
  class CountingLexer extends real.Lexer {
    constructor(...args: ConstructorParameters<typeof real.Lexer>) {
      super(...args);
      built.lexers++;
    }
  }
  // performSelfAnalysis is protected: reached through the prototype as a plain method.
  const proto = real.CstParser.prototype as unknown as { performSelfAnalysis: (this: unknown) => void };
  const analyse = proto.performSelfAnalysis;
  proto.performSelfAnalysis = function (this: unknown) {
    built.parsers++;
    analyse.call(this);
  };
  return { ...real, Lexer: CountingLexer };
});

const SOURCE = 'rule readers: allow doc.read for agent *\nrule no-deletes: deny doc.delete\n';
const REQUEST = { principal: { kind: "agent", id: "a" }, action: "doc.read", time: 0 };

describe("the lexer and the parser are built lazily", () => {
  let compiledJson = "";

  it("importing leash, leash/runtime and leash/testing builds neither", async () => {
    const leash = await import("../../src/index.js");
    await import("../../src/runtime/index.js");
    await import("../../src/testing/index.js");
    expect(leash.toMillis("2026-01-01T00:00:00Z")).toBe(Date.UTC(2026, 0, 1));
    expect(leash.CODES.R322.title).toBe("compiled by another leash version");
    expect(built).toEqual({ lexers: 0, parsers: 0 });
  });

  it("the first parse builds each once; later parses reuse them", async () => {
    const { compilePolicy, buildCompiled, formatSource } = await import("../../src/index.js");
    expect(compilePolicy(SOURCE).policy).not.toBeNull();
    expect(built).toEqual({ lexers: 1, parsers: 1 });
    compiledJson = JSON.stringify(buildCompiled(SOURCE).compiled);
    formatSource(SOURCE);
    expect(built).toEqual({ lexers: 1, parsers: 1 });
  });

  it("loading a compiled policy and deciding builds neither (fresh modules)", async () => {
    vi.resetModules();
    const before = { ...built };
    const { loadCompiledOrThrow } = await import("../../src/runtime/index.js");
    const policy = loadCompiledOrThrow(compiledJson);
    expect(policy.decide(policy.initialState(), REQUEST).decision.effect).toBe("allow");
    expect(built).toEqual(before);
  });
});
