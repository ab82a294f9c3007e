import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/syntax/index.js";
import { checkMapping, defineMapping, loadMapping, MappingError, normalizePath } from "../../src/adapters/mcp/index.js";
import { loadMappingFile } from "../../src/adapters/mcp/files.js";
import { parseJsonWithSpans } from "../../src/adapters/tools/json-spans.js";

const root = join(__dirname, "..", "..");
const exampleRules = readFileSync(join(root, "examples", "mcp-tools.rules"), "utf8");
const exampleMap = readFileSync(join(root, "examples", "mcp-tools.map.json"), "utf8");
const scope = { session: "s1", client: { name: "claude", version: "1" } };

describe("tool mappings: from a call to requests", () => {
  const mapping = loadMapping(exampleMap, "mcp-tools.map.json").mapping!;

  it("maps a tool's arguments to the resource and context, the client to the principal, the session", () => {
    expect(mapping.map({ name: "move_file", arguments: { source: "a/./b.txt", destination: "c//d.txt" } }, scope)).toEqual({
      ok: true,
      action: "fs.move",
      requests: [{ principal: { kind: "agent", id: "claude" }, action: "fs.move", session: "s1", resource: { type: "file", path: "a/b.txt" }, context: { destination: "c/d.txt" } }],
    });
  });

  it("decides a call once per element of an `each` argument", () => {
    const r = mapping.map({ name: "read_multiple_files", arguments: { paths: ["a.txt", "x/../secrets/k"] } }, scope);
    expect(r.ok && r.requests.map((q) => q.resource?.path)).toEqual(["a.txt", "secrets/k"]);
  });

  it("denies a tool the table does not list (C265), and a call without the argument it reads (C266)", () => {
    expect(mapping.map({ name: "rm_rf", arguments: {} }, scope)).toMatchObject({ ok: false, code: "C265" });
    expect(mapping.map({ name: "read_text_file", arguments: { file: "a" } }, scope)).toMatchObject({ ok: false, code: "C266", message: expect.stringContaining("$args.path | path is absent") });
    expect(mapping.map({ name: "read_text_file", arguments: { path: { nested: true } } }, scope)).toMatchObject({ ok: false, code: "C266" });
    expect(mapping.map({ name: "read_multiple_files", arguments: { paths: [] } }, scope)).toMatchObject({ ok: false, code: "C266" });
    expect(mapping.map({ name: "read_text_file", arguments: { path: "a" } }, { session: "s" })).toMatchObject({ ok: false, code: "C266", message: expect.stringContaining("principal") });
  });

  it("never throws on hostile arguments, and reads own properties only", () => {
    const hostile = new Proxy({}, { getOwnPropertyDescriptor: () => { throw new Error("boom"); }, has: () => { throw new Error("boom"); } });
    expect(mapping.map({ name: "read_text_file", arguments: hostile }, scope)).toMatchObject({ ok: false, code: "C266" });
    const inherited = Object.create({ path: "secrets/k" }) as object;
    expect(mapping.map({ name: "read_text_file", arguments: inherited }, scope)).toMatchObject({ ok: false, code: "C266" });
    expect(mapping.map({ name: 42 as unknown as string, arguments: {} }, scope)).toMatchObject({ ok: false, code: "C265" });
  });

  it("gives every tool mcp.<server>.<tool> without a table; optional references are left out when absent", () => {
    const m = defineMapping({ server: "notes", context: { tail: "$args.tail?", tool: "$tool" } });
    expect(m.actionOf("delete_note")).toBe("mcp.notes.delete_note");
    expect(m.actionOf("bad name")).toBeNull();
    expect(m.map({ name: "read", arguments: {} }, scope)).toMatchObject({ ok: true, requests: [{ action: "mcp.notes.read", context: { tool: "read" } }] });
    expect(m.map({ name: "read", arguments: { tail: 3 } }, scope)).toMatchObject({ ok: true, requests: [{ context: { tail: 3, tool: "read" } }] });
  });

  it("a host's principal replaces the mapping's; a literal `$$` is a dollar", () => {
    const m = defineMapping({ tools: { pay: { action: "pay.send", context: { currency: "$$USD" } } } });
    const principal = { kind: "service", id: "billing" };
    expect(m.map({ name: "pay", arguments: {} }, { session: "s", principal })).toMatchObject({ ok: true, requests: [{ principal, context: { currency: "$USD" } }] });
  });
});

describe("normalizePath", () => {
  it.each([
    ["secrets/key", "secrets/key"],
    ["./docs/../secrets//key", "secrets/key"],
    ["/root/public/../secrets/key", "/root/secrets/key"],
    ["/../../etc/passwd", "/etc/passwd"],
    ["../outside", "../outside"],
    ["a/b/", "a/b"],
    ["", "."],
    ["caf\u0065\u0301/x", "caf\u00e9/x"],
  ])("%j -> %j", (input, output) => expect(normalizePath(input)).toBe(output));
});

describe("mapping problems are coded diagnostics at file:line:col", () => {
  const codes = (text: string) => loadMapping(text, "m.json").diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.column}`);

  it("C260 for text that is not JSON, a duplicate key, an unknown field, a wildcard action", () => {
    expect(codes('{\n  "tools": { "a": "x.y", }\n}')).toEqual(["C260 2:26"]);
    expect(codes('{ "tools": {}, "tools": {} }')).toEqual(["C260 1:16"]);
    expect(codes('{\n  "tool": {}\n}')).toEqual(["C260 2:3"]);
    expect(codes('{ "tools": { "read": "fs.*" } }')).toEqual(["C260 1:22"]);
    expect(codes('{ "server": "my server" }')).toEqual(["C260 1:13"]);
    expect(codes('{ "tools": { "read": { "action": "fs.read", "each": "$args.x", "resource": { "path": "$args.path" }, "extra": 1 } } }')).toEqual(["C260 1:102"]);
  });

  it("C264 for references that are not valid", () => {
    expect(codes('{ "tools": { "r": { "action": "a.b", "resource": { "path": "$arguments.path" } } } }')).toEqual(["C264 1:60"]);
    expect(codes('{ "context": { "t": "$auth.token" } }')).toEqual(["C264 1:21"]);
    expect(codes('{ "context": { "p": "$args.path | upper" } }')).toEqual(["C264 1:21"]);
    expect(codes('{ "tools": { "r": { "action": "a.b", "resource": { "path": "$item" } } } }')).toEqual(["C264 1:60"]);
    expect(codes('{ "session": "$session.id" }')).toEqual(["C264 1:14"]);
  });

  it("reports every problem at once, and defineMapping throws them as a MappingError", () => {
    expect(codes('{ "server": 1, "unknownTools": "maybe", "tools": { "a": 3 } }')).toEqual(["C260 1:13", "C260 1:32", "C260 1:57"]);
    expect(() => defineMapping({ tools: { a: "x.*" } })).toThrow(MappingError);
    try {
      defineMapping({ tools: { a: "x.*" } });
    } catch (e) {
      expect((e as MappingError).diagnostics.map((d) => d.code)).toEqual(["C260"]);
    }
  });

  it("bounds what it reads: size and depth", () => {
    expect("problem" in parseJsonWithSpans("[".repeat(40) + "]".repeat(40), "m.json")).toBe(true);
    expect("problem" in parseJsonWithSpans(" ".repeat((1 << 20) + 1), "m.json")).toBe(true);
    expect(parseJsonWithSpans('{"a":[1,-2.5e3,true,null,"\\u00e9\\n"]}', "m.json")).toMatchObject({ node: { t: "object", entries: [{ key: "a", value: { t: "array" } }] } });
  });

  it("C269 for a file that cannot be read", () => {
    expect(loadMappingFile("/no/such/mapping.json").diagnostics.map((d) => d.code)).toEqual(["C269"]);
  });
});

describe("checkMapping: a mapping against the policy's actions and schema", () => {
  const ast = parsePolicy(exampleRules, { file: "mcp-tools.rules" }).ast;

  it("the example's mapping fits the example's policy", () => {
    expect(checkMapping(loadMapping(exampleMap, "m.json").mapping!, ast)).toEqual([]);
  });

  it("C261 undeclared action with a suggestion, C262 undeclared attribute, C263 wrong type", () => {
    const text = `{
  "principal": { "kind": "robot", "id": "$client.name" },
  "tools": {
    "read_text_file": { "action": "fs.raed", "resource": { "path": "$args.path | path" } },
    "move_file": { "action": "fs.move", "context": { "target": "$args.destination", "destination": 3 } },
    "mkdir": { "action": "fs.mkdir", "context": { "destination": "$auth.scopes" } }
  }
}`;
    const ds = checkMapping(loadMapping(text, "m.json").mapping!, ast);
    expect(ds.map((d) => `${d.code} ${d.span.line}:${d.span.column}`)).toEqual(["C263 2:26", "C261 4:35", "C262 5:54", "C263 5:100", "C263 6:66"]);
    expect(ds[1]!.help).toBe("did you mean `fs.read`?");
  });

  it("a policy without an actions block or schema accepts any action and attribute", () => {
    const open = parsePolicy("rule r: allow *", { file: "open.rules" }).ast;
    expect(checkMapping(loadMapping('{ "tools": { "x": { "action": "a.b", "context": { "anything": 1 } } } }', "m.json").mapping!, open)).toEqual([]);
  });
});
