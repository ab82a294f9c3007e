/**
 * `leash mcp-proxy` over Streamable HTTP, on loopback: serving clients with --listen (one
 * filesystem server per session, sessions independent), guarding a Streamable HTTP server with
 * --url, refusing foreign Host headers; the stdio proxy's exit when its client goes away; and the
 * decision log of --log.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it, vi } from "vitest";

// Every test starts real processes (the proxy through tsx, the server); on a machine shared by
// many test runs that alone can take most of the default minute.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });
import { call, childEnv, CLI, decisionOf, FS_SERVER, MAPPING, newClient, POLICY, root, text, workspace, type Connected } from "./mcp-helpers.js";

/** Ends a proxy this test started: SIGTERM (the proxy closes its sessions and exits), SIGKILL if it has not exited in 10 s. */
function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Registers cleanup with the test that runs (the tests run concurrently: each passes its own). */
type Finally = (fn: () => void | Promise<void>) => void;

/** Starts `leash mcp-proxy --listen 127.0.0.1:0 ...` and resolves with its URL once it listens. */
function listen(onTestFinished: Finally, args: readonly string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "mcp-proxy", "--listen", "127.0.0.1:0", ...args], { cwd: root, env: childEnv(), stdio: ["ignore", "ignore", "pipe"] });
  onTestFinished(() => stopped(child));
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (c: Buffer) => {
      err += c.toString("utf8");
      const m = /leash mcp-proxy: (http:\/\/127\.0\.0\.1:\d+\/mcp) /.exec(err);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once("exit", (code) => reject(new Error(`the proxy exited with ${code}: ${err}`)));
  });
}

/** A client of the SDK over Streamable HTTP; it approves every elicitation when `approve`. */
async function httpClient(onTestFinished: Finally, url: string, approve: boolean): Promise<Connected> {
  const client = newClient("claude", approve);
  const asked: Connected["asked"] = [];
  if (approve) {
    client.setRequestHandler(ElicitRequestSchema, async (r) => {
      asked.push(r.params as { message: string; requestedSchema: unknown });
      return { action: "accept", content: { approve: true } };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  onTestFinished(async () => void (await client.close()));
  return { client, asked, stderr: () => "", close: () => client.close() };
}

describe.concurrent("leash mcp-proxy over Streamable HTTP", () => {
  it("over stdio, exits when the client ends its stdin", async ({ onTestFinished }) => {
    const ws = workspace();
    onTestFinished(() => void ws.dispose());
    const child = spawn(process.execPath, ["--import", "tsx", CLI, "mcp-proxy", "--policy", POLICY, "--map", MAPPING, "--", process.execPath, FS_SERVER, ws.dir], { cwd: root, env: childEnv(), stdio: ["pipe", "pipe", "pipe"] });
    onTestFinished(() => stopped(child));
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.stdout!.resume();
    await new Promise<void>((resolve) => child.stderr!.on("data", () => err.includes("stdio ->") && resolve()));
    child.stdin!.end();
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(0);
  });

  it("--listen: each session gets its own server and its own history; the policy holds per session", async ({ onTestFinished }) => {
    const ws = workspace();
    onTestFinished(() => void ws.dispose());
    const { url } = await listen(onTestFinished, ["--policy", POLICY, "--map", MAPPING, "--", process.execPath, FS_SERVER, ws.dir]);
    const a = await httpClient(onTestFinished, url, true);
    const b = await httpClient(onTestFinished, url, true);
    expect(text(await call(a, "read_text_file", { path: "notes.txt" }))).toBe("first line\n");
    expect((await call(a, "write_file", { path: "a.txt", content: "a\n" })).isError).toBeFalsy();
    expect(a.asked).toHaveLength(1);
    const moved = await call(a, "move_file", { source: "a.txt", destination: "b.txt" });
    expect(decisionOf(moved)).toMatchObject({ effect: "deny", action: "fs.move" });
    // Session a reads a secret: its writes are denied; session b's are not.
    await call(a, "read_text_file", { path: "secrets/api-key" });
    expect(decisionOf(await call(a, "write_file", { path: "c.txt", content: "x" }))).toMatchObject({ effect: "deny", rules: ["no-write-after-secret"] });
    expect((await call(b, "write_file", { path: "b.txt", content: "b\n" })).isError).toBeFalsy();
    const sessions = new Set([decisionOf(moved)!.session]);
    expect([...sessions][0]).toMatch(/^[0-9a-f-]{36}$/); // the MCP session id
    expect(ws.files()).toMatchObject({ "a.txt": "a\n", "b.txt": "b\n" });
    expect(ws.files()["c.txt"]).toBeUndefined();
  });

  it("--listen refuses a request whose Host header is not the proxy's (DNS rebinding)", async ({ onTestFinished }) => {
    const ws = workspace();
    onTestFinished(() => void ws.dispose());
    const { url } = await listen(onTestFinished, ["--policy", POLICY, "--map", MAPPING, "--", process.execPath, FS_SERVER, ws.dir]);
    const u = new URL(url);
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "evil", version: "1" } } });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { host: "attacker.example", "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(403);
  });

  it("--url: guards a Streamable HTTP server it did not start", async ({ onTestFinished }) => {
    const ws = workspace();
    onTestFinished(() => void ws.dispose());
    const dir = mkdtempSync(join(tmpdir(), "leash-open-"));
    onTestFinished(() => void rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "open.rules"), "rule open: allow *\n");
    // The server behind: the filesystem server served over HTTP by a proxy that allows everything.
    const { url } = await listen(onTestFinished, ["--policy", join(dir, "open.rules"), "--", process.execPath, FS_SERVER, ws.dir]);
    const client = newClient("claude", true);
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (r) => (asked.push((r.params as { message: string }).message), { action: "accept", content: { approve: true } }));
    await client.connect(new StdioClientTransport({ command: process.execPath, args: ["--import", "tsx", CLI, "mcp-proxy", "--policy", POLICY, "--map", MAPPING, "--url", url], cwd: root, env: childEnv(), stderr: "pipe" }));
    onTestFinished(async () => void (await client.close()));
    const c = { client, asked: [], stderr: () => "", close: () => client.close() };
    expect(text(await call(c, "read_text_file", { path: "docs/readme.md" }))).toBe("# readme\n");
    expect(decisionOf(await call(c, "move_file", { source: "notes.txt", destination: "x.txt" }))).toMatchObject({ effect: "deny" });
    expect((await call(c, "write_file", { path: "w.txt", content: "w\n" })).isError).toBeFalsy();
    expect(asked).toHaveLength(1);
    expect(ws.files()).toMatchObject({ "notes.txt": "first line\n", "w.txt": "w\n" });
  });

  it("--log writes one JSON line per call, with the flags of its decisions", async ({ onTestFinished }) => {
    const ws = workspace();
    onTestFinished(() => void ws.dispose());
    const log = join(ws.dir, "..", `leash-log-${process.pid}-${Date.now()}.jsonl`);
    onTestFinished(() => void rmSync(log, { force: true }));
    const client = newClient("claude", false);
    await client.connect(new StdioClientTransport({ command: process.execPath, args: ["--import", "tsx", CLI, "mcp-proxy", "--policy", POLICY, "--map", MAPPING, "--log", log, "--", process.execPath, FS_SERVER, ws.dir], cwd: root, env: childEnv(), stderr: "pipe" }));
    const c = { client, asked: [], stderr: () => "", close: () => client.close() };
    await call(c, "read_text_file", { path: "secrets/api-key" });
    await call(c, "write_file", { path: "leak.txt", content: "x" });
    await client.close();
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.tool, l.effect, l.flags])).toEqual([
      ["read_text_file", "allow", ["secret-read"]],
      ["write_file", "deny", []],
    ]);
    expect(lines[1]).toMatchObject({ rules: ["no-write-after-secret"], message: expect.stringContaining("could leak them") });
  });
});
