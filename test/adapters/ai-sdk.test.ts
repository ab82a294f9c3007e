/**
 * leash/ai-sdk with the AI SDK's own mock model (MockLanguageModelV3 from ai/test, no network):
 * the model asks for tool calls, generateText runs them through the guarded tools, and the tools
 * act on a real directory the test owns.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateText, stepCountIs, tool, type ModelMessage } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { compilePolicyOrThrow, createGuard, type Guard } from "../../src/index.js";
import { DECISION_META_KEY, defineMapping, guardTools, ToolCallRefused } from "../../src/adapters/ai-sdk/index.js";
import type { Verdict } from "../../src/adapters/tools/gate.js";

const policy = compilePolicyOrThrow(readFileSync(join(__dirname, "..", "..", "examples", "mcp-tools.rules"), "utf8"));
const mapping = defineMapping({
  server: "files",
  tools: {
    read_file: { action: "fs.read", resource: { type: "file", path: "$args.path | path" } },
    write_file: { action: "fs.write", resource: { type: "file", path: "$args.path | path" } },
    move_file: { action: "fs.move", resource: { type: "file", path: "$args.source | path" }, context: { destination: "$args.destination | path" } },
  },
});

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
const toolCall = (toolCallId: string, toolName: string, input: unknown) => ({
  content: [{ type: "tool-call" as const, toolCallId, toolName, input: JSON.stringify(input) }],
  finishReason: { unified: "tool-calls" as const, raw: undefined },
  usage,
  warnings: [],
});
const answer = (text: string) => ({ content: [{ type: "text" as const, text }], finishReason: { unified: "stop" as const, raw: undefined }, usage, warnings: [] });

describe("guardTools (Vercel AI SDK)", () => {
  let dir: string;
  let guard: Guard;
  let ran: string[];
  let verdicts: Verdict[];
  const filesTools = () => ({
    read_file: tool({
      description: "read a file",
      inputSchema: z.object({ path: z.string() }),
      execute: async ({ path }) => {
        ran.push(`read ${path}`);
        return readFileSync(join(dir, path), "utf8");
      },
    }),
    write_file: tool({
      description: "write a file",
      inputSchema: z.object({ path: z.string(), content: z.string() }),
      execute: async ({ path, content }) => {
        ran.push(`write ${path}`);
        writeFileSync(join(dir, path), content);
        return "written";
      },
    }),
    move_file: tool({
      description: "move a file",
      inputSchema: z.object({ source: z.string(), destination: z.string() }),
      execute: async ({ source, destination }) => {
        ran.push(`move ${source}`);
        renameSync(join(dir, source), join(dir, destination));
        return "moved";
      },
    }),
  });
  const guarded = () => guardTools(filesTools(), { guard, mapping, principal: { kind: "agent", id: "assistant" }, session: "chat-1", onToolCall: (v) => verdicts.push(v) });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "leash-ai-sdk-"));
    mkdirSync(join(dir, "secrets"));
    writeFileSync(join(dir, "notes.txt"), "hello\n");
    guard = createGuard({ policy });
    ran = [];
    verdicts = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("an allowed call runs the tool and the model gets its result", async () => {
    const model = new MockLanguageModelV3({ doGenerate: [toolCall("c1", "read_file", { path: "notes.txt" }), answer("It says hello.")] });
    const result = await generateText({ model, tools: guarded(), prompt: "read my notes", stopWhen: stepCountIs(3) });
    expect(ran).toEqual(["read notes.txt"]);
    expect(result.steps[0]!.toolResults).toEqual([expect.objectContaining({ toolCallId: "c1", output: "hello\n" })]);
    expect(result.text).toBe("It says hello.");
    expect(verdicts.map((v) => [v.tool, v.effect])).toEqual([["read_file", "allow"]]);
  });

  it("a denied call never runs: the model gets a tool error with the reason and the decision", async () => {
    const model = new MockLanguageModelV3({ doGenerate: [toolCall("c1", "move_file", { source: "notes.txt", destination: "moved.txt" }), answer("I could not move it.")] });
    const result = await generateText({ model, tools: guarded(), prompt: "move my notes", stopWhen: stepCountIs(3) });
    expect(ran).toEqual([]);
    expect(existsSync(join(dir, "notes.txt"))).toBe(true);
    expect(existsSync(join(dir, "moved.txt"))).toBe(false);
    const errors = result.steps[0]!.content.filter((p) => p.type === "tool-error");
    expect(errors).toHaveLength(1);
    const error = (errors[0] as { error: unknown }).error;
    expect(error).toBeInstanceOf(ToolCallRefused);
    expect((error as ToolCallRefused).decision).toMatchObject({ effect: "deny", tool: "move_file", action: "fs.move", reasons: [expect.objectContaining({ code: "R313" })] });
    // The model's next prompt carries the refusal as the tool's output.
    const prompt = JSON.stringify(model.doGenerateCalls[1]!.prompt);
    expect(prompt).toContain("leash denied move_file");
    expect(DECISION_META_KEY).toBe("leash/decision");
  });

  it("a challenged call asks for approval; approved, it runs, and the approval is the satisfying signal", async () => {
    const model = new MockLanguageModelV3({ doGenerate: [toolCall("c1", "write_file", { path: "notes.txt", content: "approved\n" }), answer("Done.")] });
    const tools = guarded();
    const first = await generateText({ model, tools, prompt: "update my notes", stopWhen: stepCountIs(3) });
    const request = first.content.find((p) => p.type === "tool-approval-request");
    expect(request).toBeDefined();
    expect(ran).toEqual([]);
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("hello\n");

    const messages: ModelMessage[] = [
      { role: "user", content: "update my notes" },
      ...first.response.messages,
      { role: "tool", content: [{ type: "tool-approval-response", approvalId: (request as { approvalId: string }).approvalId, approved: true }] },
    ];
    const second = await generateText({ model, tools, messages, stopWhen: stepCountIs(3) });
    expect(ran).toEqual(["write notes.txt"]);
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("approved\n");
    expect(second.text).toBe("Done.");
    expect(verdicts.map((v) => [v.tool, v.effect, v.answer])).toEqual([
      ["write_file", "challenge", "unsupported"],
      ["write_file", "allow", undefined],
    ]);
  });

  it("a rejected approval leaves the file as it was", async () => {
    const model = new MockLanguageModelV3({ doGenerate: [toolCall("c1", "write_file", { path: "notes.txt", content: "no\n" }), answer("Not done.")] });
    const tools = guarded();
    const first = await generateText({ model, tools, prompt: "update", stopWhen: stepCountIs(3) });
    const request = first.content.find((p) => p.type === "tool-approval-request") as { approvalId: string };
    const messages: ModelMessage[] = [
      { role: "user", content: "update" },
      ...first.response.messages,
      { role: "tool", content: [{ type: "tool-approval-response", approvalId: request.approvalId, approved: false }] },
    ];
    await generateText({ model, tools, messages, stopWhen: stepCountIs(3) });
    expect(ran).toEqual([]);
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("hello\n");
  });

  it("a guard that fails gives a deny, never an approval or a run", async () => {
    await guard.close();
    const model = new MockLanguageModelV3({ doGenerate: [toolCall("c1", "read_file", { path: "notes.txt" }), answer("?")] });
    const result = await generateText({ model, tools: guarded(), prompt: "read", stopWhen: stepCountIs(3) });
    expect(ran).toEqual([]);
    expect(result.content.some((p) => p.type === "tool-approval-request")).toBe(false);
    const error = (result.steps[0]!.content.find((p) => p.type === "tool-error") as { error: ToolCallRefused }).error;
    expect(error.decision).toMatchObject({ effect: "deny", reasons: [expect.objectContaining({ code: "R314" })] });
  });
});
