/**
 * leash/langchain with LangChain's own fake chat model (fakeModel from @langchain/core/testing, no
 * network): createAgent runs the tool calls the model asks for through the middleware, and the
 * tools act on a real directory the test owns.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeModel } from "@langchain/core/testing";
import { AIMessage, createAgent, tool, ToolMessage } from "langchain";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { compilePolicyOrThrow, createGuard, type Guard } from "../../src/index.js";
import { defineMapping, leashMiddleware } from "../../src/adapters/langchain/index.js";
import type { Challenge } from "../../src/adapters/tools/gate.js";

const policy = compilePolicyOrThrow(readFileSync(join(__dirname, "..", "..", "examples", "mcp-tools.rules"), "utf8"));
const mapping = defineMapping({
  server: "files",
  tools: {
    read_file: { action: "fs.read", resource: { type: "file", path: "$args.path | path" } },
    write_file: { action: "fs.write", resource: { type: "file", path: "$args.path | path" } },
    move_file: { action: "fs.move", resource: { type: "file", path: "$args.source | path" }, context: { destination: "$args.destination | path" } },
  },
});

describe("leashMiddleware (LangChain.js)", () => {
  let dir: string;
  let guard: Guard;
  let ran: string[];
  const tools = () => [
    tool(
      async ({ path }: { path: string }) => {
        ran.push(`read ${path}`);
        return readFileSync(join(dir, path), "utf8");
      },
      { name: "read_file", description: "read a file", schema: z.object({ path: z.string() }) },
    ),
    tool(
      async ({ path, content }: { path: string; content: string }) => {
        ran.push(`write ${path}`);
        writeFileSync(join(dir, path), content);
        return "written";
      },
      { name: "write_file", description: "write a file", schema: z.object({ path: z.string(), content: z.string() }) },
    ),
    tool(
      async ({ source, destination }: { source: string; destination: string }) => {
        ran.push(`move ${source}`);
        renameSync(join(dir, source), join(dir, destination));
        return "moved";
      },
      { name: "move_file", description: "move a file", schema: z.object({ source: z.string(), destination: z.string() }) },
    ),
  ];
  const toolMessages = (messages: readonly unknown[]) => messages.filter((m): m is ToolMessage => ToolMessage.isInstance(m));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "leash-langchain-"));
    writeFileSync(join(dir, "notes.txt"), "hello\n");
    guard = createGuard({ policy });
    ran = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("an allowed call runs the tool", async () => {
    const model = fakeModel().respondWithTools([{ name: "read_file", args: { path: "notes.txt" }, id: "c1" }]).respond(new AIMessage("It says hello."));
    const agent = createAgent({ model, tools: tools(), middleware: [leashMiddleware({ guard, mapping, principal: { kind: "agent", id: "assistant" }, session: "thread-1" })] });
    const result = await agent.invoke({ messages: [{ role: "user", content: "read my notes" }] });
    expect(ran).toEqual(["read notes.txt"]);
    const [m] = toolMessages(result.messages);
    expect(m!.content).toBe("hello\n");
    expect(m!.status).not.toBe("error");
  });

  it("a denied call never runs: the model gets an error ToolMessage with the reason and the decision", async () => {
    const model = fakeModel().respondWithTools([{ name: "move_file", args: { source: "notes.txt", destination: "moved.txt" }, id: "c1" }]).respond(new AIMessage("I could not."));
    const agent = createAgent({ model, tools: tools(), middleware: [leashMiddleware({ guard, mapping, principal: { kind: "agent", id: "assistant" }, session: "thread-1" })] });
    const result = await agent.invoke({ messages: [{ role: "user", content: "move my notes" }] });
    expect(ran).toEqual([]);
    expect(existsSync(join(dir, "notes.txt"))).toBe(true);
    expect(existsSync(join(dir, "moved.txt"))).toBe(false);
    const [m] = toolMessages(result.messages);
    expect(m!.status).toBe("error");
    expect(m!.content).toMatch(/^leash denied move_file: /);
    expect((m!.artifact as Record<string, unknown>)["leash/decision"]).toMatchObject({ effect: "deny", tool: "move_file", action: "fs.move", reasons: [expect.objectContaining({ code: "R313" })] });
  });

  it("a challenged call is put to approve; approved, the tool runs", async () => {
    const asked: Challenge[] = [];
    const model = fakeModel().respondWithTools([{ name: "write_file", args: { path: "notes.txt", content: "approved\n" }, id: "c1" }]).respond(new AIMessage("Done."));
    const middleware = leashMiddleware({ guard, mapping, principal: { kind: "agent", id: "assistant" }, session: "thread-1", approve: async (c) => (asked.push(c), true) });
    const agent = createAgent({ model, tools: tools(), middleware: [middleware] });
    await agent.invoke({ messages: [{ role: "user", content: "update my notes" }] });
    expect(asked.map((c) => [c.tool, c.obligations[0]!.challenge])).toEqual([["write_file", "human-approval"]]);
    expect(ran).toEqual(["write notes.txt"]);
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("approved\n");
  });

  it("without approve, a challenge is refused carrying its obligation; nothing is written", async () => {
    const model = fakeModel().respondWithTools([{ name: "write_file", args: { path: "notes.txt", content: "no\n" }, id: "c1" }]).respond(new AIMessage("Not done."));
    const agent = createAgent({ model, tools: tools(), middleware: [leashMiddleware({ guard, mapping, principal: { kind: "agent", id: "assistant" } })] });
    const result = await agent.invoke({ messages: [{ role: "user", content: "update" }] });
    expect(ran).toEqual([]);
    const [m] = toolMessages(result.messages);
    expect((m!.artifact as Record<string, unknown>)["leash/decision"]).toMatchObject({ effect: "challenge", answer: "unsupported", obligations: [expect.objectContaining({ challenge: "human-approval" })] });
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("hello\n");
  });

  it("a guard that fails gives a refusal, never a run", async () => {
    await guard.close();
    const model = fakeModel().respondWithTools([{ name: "read_file", args: { path: "notes.txt" }, id: "c1" }]).respond(new AIMessage("?"));
    const agent = createAgent({ model, tools: tools(), middleware: [leashMiddleware({ guard, mapping, principal: { kind: "agent", id: "assistant" }, approve: async () => true })] });
    const result = await agent.invoke({ messages: [{ role: "user", content: "read" }] });
    expect(ran).toEqual([]);
    expect((toolMessages(result.messages)[0]!.artifact as Record<string, unknown>)["leash/decision"]).toMatchObject({ effect: "deny", reasons: [expect.objectContaining({ code: "R314" })] });
  });
});
