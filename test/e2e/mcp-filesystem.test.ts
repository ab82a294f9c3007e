/**
 * The real @modelcontextprotocol/server-filesystem over stdio, driven by the SDK's real Client,
 * guarded by examples/mcp-tools.rules and its mapping: once through `leash mcp-proxy`, once
 * guarded in process (test/e2e/fixtures/guarded-filesystem.ts). Every test owns a fresh
 * directory and a connection of its own (a session of its own), so the tests run concurrently;
 * each checks what is on disk after its calls.
 */
import { describe, expect, it, vi, type TestContext } from "vitest";

// Every test starts real processes (the proxy through tsx, the server); on a machine shared by
// many test runs that alone can take most of the default minute.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });
import { call, connect, decisionOf, text, workspace, type Connected, type ConnectOptions, type Mode } from "./mcp-helpers.js";

const before = { "notes.txt": "first line\n", "docs/readme.md": "# readme\n", "secrets/api-key": "sk-test-0000\n" };

describe.concurrent.each<Mode>(["proxy", "in-process"])("the filesystem server guarded (%s)", (mode) => {
  /** A fresh workspace and a client connected to it, both gone when the test (whose context is `t`) ends. */
  const setup = async ({ onTestFinished }: TestContext, options: ConnectOptions = {}) => {
    const ws = workspace();
    let connected: Connected | undefined;
    onTestFinished(async () => {
      await connected?.close();
      ws.dispose();
    });
    connected = await connect(mode, ws.dir, options);
    return { ws, c: connected };
  };

  it("lists and reads: retrieval is allowed", async (t) => {
    const { ws, c } = await setup(t);
    const tools = (await c.client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(["read_text_file", "write_file", "edit_file", "move_file", "list_directory"]));
    const listing = await call(c, "list_directory", { path: ws.dir });
    expect(listing.isError).toBeFalsy();
    expect(text(listing)).toContain("notes.txt");
    const read = await call(c, "read_text_file", { path: "notes.txt" });
    expect(read.isError).toBeFalsy();
    expect(text(read)).toBe("first line\n");
    const many = await call(c, "read_multiple_files", { paths: ["notes.txt", "docs/readme.md"] });
    expect(text(many)).toContain("# readme");
  });

  it("write_file, edit_file and create_directory are challenged; a client that cannot be asked gets the obligation, and nothing is written", async (t) => {
    const { ws, c } = await setup(t);
    for (const [tool, args] of [
      ["write_file", { path: "notes.txt", content: "overwritten\n" }],
      ["edit_file", { path: "notes.txt", edits: [{ oldText: "first", newText: "edited" }] }],
      ["create_directory", { path: "out" }],
    ] as const) {
      const r = await call(c, tool, args);
      expect(r.isError).toBe(true);
      const d = decisionOf(r)!;
      expect(d).toMatchObject({ effect: "challenge", allowed: false, tool, rules: ["writes-need-approval"], answer: "unsupported" });
      expect(d.obligations).toEqual([{ kind: "challenge", rule: "writes-need-approval", challenge: "human-approval", satisfiedBy: ["approval.granted"] }]);
      expect(text(r)).toContain("needs human-approval (satisfied by approval.granted)");
    }
    expect(ws.files()).toEqual(before);
  });

  it("a challenge is put to the user as an elicitation; once approved, the write runs", async (t) => {
    const { ws, c } = await setup(t, { answer: "accept" });
    const w = await call(c, "write_file", { path: "notes.txt", content: "approved\n" });
    expect(w.isError).toBeFalsy();
    const e = await call(c, "edit_file", { path: "notes.txt", edits: [{ oldText: "approved", newText: "edited" }] });
    expect(e.isError).toBeFalsy();
    expect(c.asked).toHaveLength(2);
    expect(c.asked[0]!.message).toContain("write_file (fs.write) needs human-approval");
    expect(c.asked[0]!.requestedSchema).toMatchObject({ properties: { approve: { type: "boolean" } }, required: ["approve"] });
    expect(ws.files()["notes.txt"]).toBe("edited\n");
  });

  it("a declined elicitation refuses the call, and nothing is written", async (t) => {
    const { ws, c } = await setup(t, { answer: "decline" });
    const r = await call(c, "write_file", { path: "notes.txt", content: "declined\n" });
    expect(r.isError).toBe(true);
    expect(decisionOf(r)).toMatchObject({ effect: "challenge", answer: "decline" });
    expect(text(r)).toContain("the user answered decline");
    expect(ws.files()).toEqual(before);
  });

  it("move_file is denied to an agent with its reason under _meta; both paths stay as they were", async (t) => {
    const { ws, c } = await setup(t, { answer: "accept" });
    const r = await call(c, "move_file", { source: "notes.txt", destination: "docs/moved.txt" });
    expect(r.isError).toBe(true);
    const d = decisionOf(r)!;
    expect(d).toMatchObject({ effect: "deny", allowed: false, tool: "move_file", action: "fs.move", rules: [] });
    expect(d.reasons).toEqual([expect.objectContaining({ rule: null, effect: "deny", code: "R313" })]);
    expect(text(r)).toMatch(/^leash denied move_file: /);
    expect(c.asked).toEqual([]);
    expect(ws.files()).toEqual(before);
  });

  it("after a read of secrets/, any write is denied within the window, even with approval at hand", async (t) => {
    const { ws, c } = await setup(t, { answer: "accept" });
    const secret = await call(c, "read_text_file", { path: "secrets/api-key" });
    expect(text(secret)).toBe("sk-test-0000\n");
    for (const [tool, args] of [
      ["write_file", { path: "leak.txt", content: "sk-test-0000\n" }],
      ["edit_file", { path: "notes.txt", edits: [{ oldText: "first", newText: "sk" }] }],
      ["create_directory", { path: "exfil" }],
    ] as const) {
      const r = await call(c, tool, args);
      expect(r.isError).toBe(true);
      expect(decisionOf(r)).toMatchObject({ effect: "deny", rules: ["no-write-after-secret"] });
      expect(text(r)).toContain("a write right after reading secrets/ could leak them");
    }
    expect(c.asked).toEqual([]);
    expect(ws.files()).toEqual(before);
  });

  it("a path that detours into secrets/ counts as a read of secrets/, also inside read_multiple_files", async (t) => {
    const { ws, c } = await setup(t, { answer: "accept" });
    await call(c, "read_multiple_files", { paths: ["notes.txt", "docs/../secrets/./api-key"] });
    const r = await call(c, "write_file", { path: "leak.txt", content: "x" });
    expect(decisionOf(r)).toMatchObject({ effect: "deny", rules: ["no-write-after-secret"] });
    expect(ws.files()).toEqual(before);
  });

  it("more than three writes in a row revoke the session; every later call is denied", async (t) => {
    const { ws, c } = await setup(t, { answer: "accept" });
    for (let i = 0; i < 3; i++) expect((await call(c, "write_file", { path: `out-${i}.txt`, content: `${i}\n` })).isError).toBeFalsy();
    const fourth = await call(c, "write_file", { path: "out-3.txt", content: "3\n" });
    expect(fourth.isError).toBe(true);
    expect(decisionOf(fourth)).toMatchObject({ effect: "revoke", rules: ["destructive-chain"], obligations: [expect.objectContaining({ kind: "revoke", key: expect.stringMatching(/^session:/) })] });
    expect(text(fourth)).toContain("every later call is denied");
    const read = await call(c, "read_text_file", { path: "notes.txt" });
    expect(read.isError).toBe(true);
    expect(decisionOf(read)).toMatchObject({ effect: "deny", reasons: [expect.objectContaining({ code: "R307" })] });
    expect(ws.files()).toEqual({ ...before, "out-0.txt": "0\n", "out-1.txt": "1\n", "out-2.txt": "2\n" });
  });

  it("a tool the mapping does not list is denied (C265), and a call without the mapped argument is denied (C266)", async (t) => {
    const { c } = await setup(t);
    const unknown = await call(c, "delete_everything", {});
    expect(decisionOf(unknown)).toMatchObject({ effect: "deny", reasons: [expect.objectContaining({ code: "C265" })] });
    const missing = await call(c, "read_text_file", {});
    expect(decisionOf(missing)).toMatchObject({ effect: "deny", reasons: [expect.objectContaining({ code: "C266" })] });
  });

  it("filters tools/list to what the principal could ever be allowed", async (t) => {
    const { c } = await setup(t, mode === "proxy" ? { proxyArgs: ["--filter-tools"] } : { env: { LEASH_FILTER_TOOLS: "1" } });
    const tools = (await c.client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain("read_text_file");
    expect(tools).toContain("write_file");
    expect(tools).not.toContain("move_file"); // fs.move is allowed to humans only
  });
});
