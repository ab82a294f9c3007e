/**
 * MCP suite: what leash adds to one tool call, against the same calls unguarded, measured in one
 * run with the SDK's real Client and servers.
 *
 * - `in-process`: an `McpServer` with the filesystem tools' names (handlers that answer at once, so
 *   the guard's share is visible), connected to the Client by the SDK's in-memory transport; the
 *   guarded server is the same server with `guardServer` and examples/mcp-tools.rules with its
 *   mapping.
 * - `proxy`: the Client over stdio to the real @modelcontextprotocol/server-filesystem reading a
 *   small file, directly and through `leash mcp-proxy` (the CLI bundled as users get it).
 *
 * Calls are sequential (one in flight), in pairs of an unguarded and a guarded call so both see
 * the same machine load; each row reports the guarded p50/p99 and ops/s with the unguarded ones
 * beside them and the difference of the medians (`addedP50Us`). Every guarded call must be allowed and return what the unguarded one
 * returns (`agree`). `npx tsx bench/mcp.ts [--quick]` runs the suite alone.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { resultOfChild } from "./child.js";
import { buildEntries } from "./leash-build.js";
import { median } from "./measure.js";

export interface McpRow {
  suite: "mcp";
  engine: "leash";
  mode: "in-process" | "proxy";
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  baselineOpsPerSec: number;
  baselineP50Us: number;
  baselineP99Us: number;
  /** Guarded p50 minus unguarded p50 (µs): what leash adds per call. */
  addedP50Us: number;
  calls: number;
  agree: boolean;
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FS_SERVER = join(ROOT, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");

type Call = () => Promise<unknown>;

/** The latency (µs) of one call, and whether its answer passes `check`. */
async function timeCall(call: Call, out: number[], check: (r: unknown) => boolean): Promise<boolean> {
  const t0 = process.hrtime.bigint();
  const r = await call();
  out.push(Number(process.hrtime.bigint() - t0) / 1000);
  return check(r);
}

function percentile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/**
 * Pairs of calls, one unguarded and one guarded, the order swapped from pair to pair, so that both
 * see the same moments of machine load; a warm-up of both first. One row.
 */
async function compare(mode: McpRow["mode"], baseline: Call, guarded: Call, sameAnswer: (a: unknown, b: unknown) => boolean, quick: boolean): Promise<McpRow> {
  const pairs = quick ? 600 : mode === "proxy" ? 4000 : 20_000;
  const reference = await baseline();
  const allowed = (r: unknown) => sameAnswer(r, reference);
  const base: number[] = [];
  const guard: number[] = [];
  let agree = true;
  for (let i = 0; i < pairs + pairs / 4; i++) {
    if (i === pairs / 4) base.length = guard.length = 0; // the first fifth warms up
    if (i % 2 === 0) {
      await timeCall(baseline, base, allowed);
      agree = (await timeCall(guarded, guard, allowed)) && agree;
    } else {
      agree = (await timeCall(guarded, guard, allowed)) && agree;
      await timeCall(baseline, base, allowed);
    }
  }
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const row = {
    suite: "mcp" as const,
    engine: "leash" as const,
    mode,
    opsPerSec: Math.round(1e6 / mean(guard)),
    p50Us: round(median(guard)),
    p99Us: round(percentile(guard, 0.99)),
    baselineOpsPerSec: Math.round(1e6 / mean(base)),
    baselineP50Us: round(median(base)),
    baselineP99Us: round(percentile(base, 0.99)),
    addedP50Us: 0,
    calls: guard.length,
    agree,
  };
  row.addedP50Us = round(row.p50Us - row.baselineP50Us);
  return row;
}

const round = (x: number) => Math.round(x * 10) / 10;

/** What a tool call answered: its text, and whether it was an error. */
function answer(r: unknown): string {
  const res = r as { isError?: boolean; content?: { text?: string }[] };
  return `${res.isError === true ? "error:" : ""}${(res.content ?? []).map((c) => c.text ?? "").join("")}`;
}
const same = (a: unknown, b: unknown) => answer(a) === answer(b) && !answer(a).startsWith("error:");

async function inProcess(quick: boolean, modules: Record<string, string>): Promise<McpRow> {
  const leash = (await import(modules.index!)) as typeof import("../src/index.js");
  const mcp = (await import(modules.mcp!)) as typeof import("../src/adapters/mcp/index.js");
  const policy = leash.compilePolicyOrThrow(readFileSync(join(ROOT, "examples/mcp-tools.rules"), "utf8"));
  const mapping = mcp.loadMappingOrThrow(readFileSync(join(ROOT, "examples/mcp-tools.map.json"), "utf8"));

  const connect = async (guarded: boolean) => {
    const server = new McpServer({ name: "bench", version: "1.0.0" });
    if (guarded) mcp.guardServer(server, { guard: leash.createGuard({ policy }), mapping });
    server.registerTool("read_text_file", { inputSchema: { path: z.string() } }, async ({ path }) => ({ content: [{ type: "text", text: `contents of ${path}` }] }));
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: "claude", version: "1.0.0" });
    await Promise.all([server.connect(a), client.connect(b)]);
    return client;
  };
  const plain = await connect(false);
  const guarded = await connect(true);
  const args = { name: "read_text_file", arguments: { path: "docs/notes.txt" } };
  const row = await compare("in-process", () => plain.callTool(args), () => guarded.callTool(args), same, quick);
  // A refused call must be refused: the bench guards what it claims to.
  const refused = await guarded.callTool({ name: "move_file", arguments: { source: "a", destination: "b" } });
  row.agree &&= (refused as { isError?: boolean }).isError === true;
  await Promise.all([plain.close(), guarded.close()]);
  return row;
}

async function proxy(quick: boolean, modules: Record<string, string>): Promise<McpRow> {
  const dir = mkdtempSync(join(tmpdir(), "leash-bench-mcp-"));
  writeFileSync(join(dir, "notes.txt"), "a small file\n");
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const open = async (command: string[]) => {
    const client = new Client({ name: "claude", version: "1.0.0" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: command, cwd: ROOT, env, stderr: "ignore" }));
    return client;
  };
  const cli = fileURLToPath(modules.cli!);
  const direct = await open([FS_SERVER, dir]);
  const guarded = await open([cli, "mcp-proxy", "--policy", "examples/mcp-tools.rules", "--map", "examples/mcp-tools.map.json", "--", process.execPath, FS_SERVER, dir]);
  const args = { name: "read_text_file", arguments: { path: "notes.txt" } };
  try {
    return await compare("proxy", () => direct.callTool(args), () => guarded.callTool(args), same, quick);
  } finally {
    await Promise.allSettled([direct.close(), guarded.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function mcpBenchHere(quick: boolean): Promise<McpRow[]> {
  const modules = await buildEntries({ index: "src/index.ts", mcp: "src/adapters/mcp/index.ts", cli: "src/cli/bin.ts" }, "leash-bench-mcp");
  return [await inProcess(quick, modules), await proxy(quick, modules)];
}

/** The suite in a child process of its own, as run.ts runs it. */
export function mcpBench(opts: { quick: boolean }): Promise<McpRow[]> {
  return resultOfChild<McpRow[]>(import.meta.url, ["--child", ...(opts.quick ? ["--quick"] : [])], "mcp suite");
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes("--child")) {
  const rows = await mcpBenchHere(process.argv.includes("--quick"));
  process.send!(rows, () => process.exit(0));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await mcpBenchHere(process.argv.includes("--quick"))) console.log(JSON.stringify(row));
  process.exit(0);
}
