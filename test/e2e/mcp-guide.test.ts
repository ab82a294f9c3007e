/**
 * docs/guides/mcp.md and the tool-mapping entries of docs/errors.md are executable: the proxy
 * command of the guide runs against the real filesystem server, its check and eval commands pass,
 * the client configuration starts the same command, every `// file:` TypeScript block is written
 * out (with `leash/...` imports pointing at src/) and run, and every C26x example gives its code.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { MockLanguageModelV3 } from "ai/test";
import { fakeModel } from "@langchain/core/testing";
import { AIMessage, ToolMessage } from "langchain";
import { describe, expect, it, onTestFinished } from "vitest";
import { main } from "../../src/cli/main.js";
import { parsePolicy } from "../../src/syntax/index.js";
import { checkMapping, loadMapping } from "../../src/adapters/mcp/index.js";
import type { CliIO } from "../../src/cli/io.js";
import { call, childEnv, CLI, decisionOf, FS_SERVER, newClient, root, text, workspace } from "./mcp-helpers.js";

interface Block {
  readonly lang: string;
  readonly text: string;
  readonly section: string;
}

function blocks(file: string): Block[] {
  const out: Block[] = [];
  let section = "";
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith("## ")) section = lines[i]!.slice(3).trim();
    const open = /^```([\w-]*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    out.push({ lang: open[1]!, text: body.join("\n") + "\n", section });
  }
  return out;
}

function memoryIO(): CliIO & { err: string } {
  const io = {
    err: "",
    stdout: () => {},
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => readFileSync(p, "utf8"),
    writeFile: () => {
      throw new Error("the guide's commands write no file");
    },
    cwd: root,
    color: false,
    quiet: true,
  };
  return io;
}

const guide = blocks("docs/guides/mcp.md");
const shell = guide.filter((b) => b.lang === "sh").flatMap((b) => b.text.trim().split("\n"));
const proxyLine = shell.find((l) => l.startsWith("npx leash mcp-proxy"))!;

/** A TypeScript block written out under .tmp/guide, its `leash` imports pointing at src/. */
function guideFile(name: string): string {
  const block = guide.find((b) => b.lang === "ts" && b.text.startsWith(`// file: ${name}\n`));
  if (block === undefined) throw new Error(`docs/guides/mcp.md has no block "// file: ${name}"`);
  const entries: Record<string, string> = { "": "src/index.ts", "/node": "src/node/index.ts", "/mcp": "src/adapters/mcp/index.ts", "/ai-sdk": "src/adapters/ai-sdk/index.ts", "/langchain": "src/adapters/langchain/index.ts" };
  const source = block.text.replace(/from "leash((?:\/[\w-]+)?)"/g, (_, sub: string) => `from ${JSON.stringify(join(root, entries[sub]!))}`);
  const dir = join(root, ".tmp", "guide");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

describe("docs/guides/mcp.md runs", () => {
  it("has the proxy command, the check, the eval and three program files", () => {
    expect(proxyLine).toBeDefined();
    expect(shell).toEqual(expect.arrayContaining([expect.stringMatching(/^leash check --map /), expect.stringMatching(/^leash eval /)]));
    expect(guide.filter((b) => b.lang === "ts").map((b) => b.text.split("\n")[0])).toEqual(["// file: notes-server.ts", "// file: ai-sdk-assistant.ts", "// file: langchain-agent.ts"]);
  });

  it("the proxy command guards the real filesystem server", async () => {
    const ws = workspace();
    onTestFinished(() => ws.dispose());
    // npx leash -> this checkout's CLI; npx -y @modelcontextprotocol/server-filesystem -> the installed server; ./workspace -> a fresh directory.
    const words = proxyLine.split(" ");
    expect(words.slice(0, 2)).toEqual(["npx", "leash"]);
    const dashes = words.indexOf("--");
    expect(words.slice(dashes + 1)).toEqual(["npx", "-y", "@modelcontextprotocol/server-filesystem", "./workspace"]);
    const args = ["--import", "tsx", CLI, ...words.slice(2, dashes), "--", process.execPath, FS_SERVER, ws.dir];
    const client = newClient("claude", false);
    await client.connect(new StdioClientTransport({ command: process.execPath, args, cwd: root, env: childEnv(), stderr: "pipe" }));
    onTestFinished(() => client.close());
    const c = { client, asked: [], stderr: () => "", close: () => client.close() };
    expect(text(await call(c, "read_text_file", { path: "notes.txt" }))).toBe("first line\n");
    const w = await call(c, "write_file", { path: "notes.txt", content: "x" });
    expect(decisionOf(w)).toMatchObject({ effect: "challenge", answer: "unsupported" });
    const m = await call(c, "move_file", { source: "notes.txt", destination: "docs/x.txt" });
    expect(text(m)).toBe("leash denied move_file: no allow rule matched fs.move");
    expect(decisionOf(m)).toMatchObject({ effect: "deny", tool: "move_file", action: "fs.move", reasons: [{ rule: null, effect: "deny", code: "R313" }] });
    expect(ws.files()["notes.txt"]).toBe("first line\n");
  });

  it("the client configuration starts the same command", () => {
    const config = guide.find((b) => b.lang === "json" && b.text.includes("mcpServers"))!;
    const server = (JSON.parse(config.text) as { mcpServers: Record<string, { command: string; args: string[] }> }).mcpServers.files!;
    expect([server.command, ...server.args].join(" ")).toBe(proxyLine);
  });

  it("the refusal shown is the one the proxy sends", () => {
    const shown = guide.find((b) => b.lang === "json" && b.text.includes('"leash/decision"'))!.text;
    const parsed = JSON.parse(shown.replace(/"[^"]*…"/g, '"x"')) as { content: { text: string }[]; _meta: { "leash/decision": { reasons: unknown[] } } };
    expect(parsed.content[0]!.text).toBe("leash denied move_file: no allow rule matched fs.move");
    expect(parsed._meta["leash/decision"].reasons).toEqual([{ rule: null, effect: "deny", message: "no allow rule matched fs.move", code: "R313" }]);
  });

  it("the check and eval commands pass", async () => {
    for (const line of shell.filter((l) => /^leash (check|eval) /.test(l))) {
      const io = memoryIO();
      expect(await main(line.split(" ").slice(1), io), `${line}\n${io.err}`).toBe(0);
    }
  });

  it("notes-server.ts: the guarded server allows, refuses and never runs a refused tool", async () => {
    const client = newClient("claude", false);
    await client.connect(new StdioClientTransport({ command: process.execPath, args: ["--import", "tsx", guideFile("notes-server.ts")], cwd: root, env: childEnv(), stderr: "pipe" }));
    onTestFinished(() => client.close());
    const c = { client, asked: [], stderr: () => "", close: () => client.close() };
    expect((await call(c, "write_note", { name: "today.md", text: "hello" })).isError).toBeFalsy();
    expect(text(await call(c, "read_note", { name: "today.md" }))).toBe("hello");
    const archived = await call(c, "write_note", { name: "archive/2025.md", text: "rewritten" });
    expect(decisionOf(archived)).toMatchObject({ effect: "deny", action: "notes.write" });
    const deleted = await call(c, "delete_note", { name: "today.md" });
    expect(decisionOf(deleted)).toMatchObject({ effect: "deny", action: "notes.delete" });
    expect(text(await call(c, "read_note", { name: "archive/2025.md" }))).toBe("old");
    expect(text(await call(c, "read_note", { name: "today.md" }))).toBe("hello");
  });

  it("ai-sdk-assistant.ts: a read runs, a write waits for approval", async () => {
    const { assistant } = (await import(guideFile("ai-sdk-assistant.ts"))) as { assistant: (model: unknown, dir: string, prompt: string) => Promise<{ content: { type: string }[]; text: string }> };
    const ws = workspace();
    onTestFinished(() => ws.dispose());
    const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
    const step = (toolName: string, input: unknown) => ({ content: [{ type: "tool-call" as const, toolCallId: "c1", toolName, input: JSON.stringify(input) }], finishReason: { unified: "tool-calls" as const, raw: undefined }, usage, warnings: [] });
    const done = { content: [{ type: "text" as const, text: "ok" }], finishReason: { unified: "stop" as const, raw: undefined }, usage, warnings: [] };
    const read = await assistant(new MockLanguageModelV3({ doGenerate: [step("read_text_file", { path: "notes.txt" }), done] }), ws.dir, "read");
    expect(read.text).toBe("ok");
    const write = await assistant(new MockLanguageModelV3({ doGenerate: [step("write_file", { path: "notes.txt", content: "x" }), done] }), ws.dir, "write");
    expect(write.content.map((p) => p.type)).toContain("tool-approval-request");
    expect(ws.files()["notes.txt"]).toBe("first line\n");
  });

  it("langchain-agent.ts: the agent's read goes through the middleware", async () => {
    const { filesAgent } = (await import(guideFile("langchain-agent.ts"))) as { filesAgent: (model: unknown, dir: string) => { invoke: (input: unknown) => Promise<{ messages: unknown[] }> } };
    const ws = workspace();
    onTestFinished(() => ws.dispose());
    const model = fakeModel().respondWithTools([{ name: "read_text_file", args: { path: "secrets/api-key" }, id: "c1" }]).respond(new AIMessage("done"));
    const result = await filesAgent(model, ws.dir).invoke({ messages: [{ role: "user", content: "read the key" }] });
    const tool = result.messages.find((m): m is ToolMessage => ToolMessage.isInstance(m))!;
    expect(tool.content).toBe("sk-test-0000\n");
  });
});

describe("the tool-mapping entries of docs/errors.md give their codes", () => {
  const entries = blocks("docs/errors.md").filter((b) => /^C26\d/.test(b.section));
  const sections = [...new Set(entries.map((b) => b.section))];
  it("every C26x section but C269 has an example", () => {
    expect(sections.map((s) => s.slice(0, 4))).toEqual(["C260", "C261", "C262", "C263", "C264", "C265", "C266", "C269"]);
  });
  for (const section of sections) {
    const code = section.slice(0, 4);
    const of = (lang: string) => entries.find((b) => b.section === section && b.lang === lang);
    const bad = of("mapping-error");
    if (bad !== undefined) {
      it(`${code}: the mapping-error example`, () => {
        const policy = of("rules")?.text ?? "rule any: allow *";
        const loaded = loadMapping(bad.text, "example.json");
        const diagnostics = loaded.mapping === null ? loaded.diagnostics : checkMapping(loaded.mapping, parsePolicy(policy, { file: "example.rules" }).ast);
        expect(diagnostics.map((d) => d.code)).toEqual([code]);
      });
    }
    const call = of("tool-call");
    if (call !== undefined) {
      it(`${code}: the tool-call example`, () => {
        const mapping = loadMapping(of("mapping")!.text, "example.json").mapping!;
        expect(mapping.map(JSON.parse(call.text) as { name: string; arguments: unknown }, { session: "s", client: { name: "c" } })).toMatchObject({ ok: false, code });
      });
    }
  }
});
