/**
 * Language server suite: how long an editor waits for `leash lsp` on a 2,000-rule file
 * (`lspPolicy` in lsp-policy.ts).
 *
 * The server is the one the VS Code extension ships (src/lsp bundled with esbuild, as
 * `npm run vsix` does), in its own process, spoken to over stdio by a JSON-RPC client; every time
 * is measured on the client's side, from sending a message to receiving the answer:
 *
 * - `openMs`: didOpen → publishDiagnostics; the whole file is parsed, checked and linted (what a
 *   non-incremental server does on every change);
 * - `diagnosticsMs`: didChange editing one rule → publishDiagnostics for that version (median of
 *   the edits); the unchanged items are reused, the check and lint stages run on the whole file,
 *   and the server's 10 ms debounce is included. `diagnosticsCpuMs` is the server's CPU time per
 *   such edit (Linux /proc), which says more than wall time when other work shares the cores;
 * - `errorDiagnosticsMs`: the same for an edit that leaves a parse error (the whole text is parsed
 *   again; as `leash check`, checks and lints do not run on a file that does not parse);
 * - `completionMs`: a completion request at places in the middle of the file (after `context.`,
 *   after an effect, inside `count(`), median; `completionAfterChangeMs`: the same sent right after
 *   a didChange, before its diagnostics;
 * - `fullCheckCpuMs`: `checkSource` on the same text in this process, the peer measured in the
 *   same run (a server that parses, checks and lints the whole file on every change).
 *
 * `tsx bench/lsp.ts [--quick]` runs it alone.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleServer } from "../editors/vscode/build.mjs";
import { LspClient, ROOT } from "../test/lsp/harness.js";
import { leashModuleUrl } from "./leash-build.js";
import { lspPolicy } from "./lsp-policy.js";
import type { BenchOptions } from "./report.js";

export interface LspRow {
  readonly rules: number;
  readonly diagnosticsMs: number;
  readonly completionMs: number;
  readonly incremental: true;
  /** Server CPU time per clean edit (from /proc; null where there is none): the load-independent figure. */
  readonly diagnosticsCpuMs: number | null;
  readonly openMs: number;
  readonly errorDiagnosticsMs: number;
  readonly errorDiagnosticsCpuMs: number | null;
  readonly completionAfterChangeMs: number;
  /**
   * CPU time of `checkSource` on the same text in this process (the tsup bundle, as the other
   * suites time leash): what a server that is not incremental does on every change, measured in the
   * same run; `diagnosticsCpuMs / fullCheckCpuMs` is the share the incremental server spends.
   */
  readonly fullCheckCpuMs: number;
  /** Warnings in the bench file (none, unless a new lint finds some: test/bench/lsp-policy.test.ts says so). */
  readonly warnings: number;
  /** Diagnostics refreshes per second at `diagnosticsMs`. */
  readonly changesPerSec: number;
  /** Milliseconds; each a median of this many measurements. */
  readonly samples: number;
}

const RULES = 2000;
const URI = "file:///bench/policy.rules";

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (ms: number) => Math.round(ms * 10) / 10;

export async function lspBench(opts: BenchOptions): Promise<LspRow> {
  const server = join(ROOT, "node_modules", ".cache", "leash-bench", "lsp-server.cjs");
  await bundleServer(server);
  const client = await LspClient.start({ textDocument: { completion: { completionItem: { snippetSupport: true } } } }, [process.execPath, server, "--stdio"]);
  try {
    return await measure(client, opts.quick ? 7 : 21);
  } finally {
    await client.stop();
  }
}

/** CPU time (ms) the process `pid` has used so far, from /proc (Linux); null elsewhere. */
function cpuMsOf(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

async function measure(client: LspClient, samples: number): Promise<LspRow> {
  const pid = client.process.pid!;
  let text = lspPolicy(RULES);
  let version = 1;
  const t0 = performance.now();
  await client.open(URI, text, version);
  const opened = await client.diagnostics(URI, version);
  const openMs = performance.now() - t0;
  const error = opened.diagnostics.find((d) => d.severity === 1);
  if (error !== undefined) throw new Error(`the bench file has errors: ${error.message}`);

  const send = async (at: number, length: number, to: string) => {
    const start = positionAt(text, at);
    const end = positionAt(text, at + length);
    text = text.slice(0, at) + to + text.slice(at + length);
    version++;
    await client.change(URI, version, [{ range: { start, end }, text: to }]);
    return { version, start };
  };
  /** Replaces the first `from` at or after `near` (a fraction of the file) by `to`; waits for its diagnostics. */
  const edit = async (near: number, from: string, to: string): Promise<number> => {
    const at = text.indexOf(from, Math.floor(text.length * near));
    if (at < 0) throw new Error(`no ${JSON.stringify(from)} after ${near}`);
    const sent = performance.now();
    const { version: v } = await send(at, from.length, to);
    await client.diagnostics(URI, v);
    return performance.now() - sent;
  };
  const place = (i: number) => ((i * 7) % samples) / samples;

  // Edits that keep the file valid: one rule's window, somewhere else each time.
  const clean: number[] = [];
  const cpu0 = cpuMsOf(pid);
  for (let i = 0; i < samples; i++) clean.push(await edit(place(i), "within 10m", "within 11m"));
  const cpu1 = cpuMsOf(pid);

  // A half-typed condition (`when context.`): parse errors; each typed back afterwards.
  const broken: number[] = [];
  let brokenCpu = 0;
  for (let i = 0; i < samples; i++) {
    const before = cpuMsOf(pid);
    broken.push(await edit(place(i), "context.risk >= 0.9", "context."));
    const after = cpuMsOf(pid);
    if (before !== null && after !== null) brokenCpu += after - before;
    await edit(place(i), "context. and", "context.risk >= 0.9 and");
  }

  // Completion right after a keystroke, before the server has analysed it.
  const afterChange: number[] = [];
  for (let i = 0; i < samples; i++) {
    const at = text.indexOf("context.", Math.floor(text.length * place(i))) + "context.".length;
    const sent = performance.now();
    const { version: v, start } = await send(at, 0, "r");
    await client.request("textDocument/completion", { textDocument: { uri: URI }, position: { line: start.line, character: start.character + 1 } });
    afterChange.push(performance.now() - sent);
    await client.diagnostics(URI, v);
    const { version: back } = await send(at, 1, "");
    await client.diagnostics(URI, back);
  }

  // Completion on the analysed file: after `context.`, after an effect, inside `count(`.
  const places = ["context.", ": deny ", "count("];
  const completion: number[] = [];
  for (let i = 0; i < samples; i++) {
    const needle = places[i % places.length]!;
    const offset = text.indexOf(needle, Math.floor(text.length * (0.3 + (0.4 * i) / samples))) + needle.length;
    const sent = performance.now();
    const list = await client.request<{ items: unknown[] }>("textDocument/completion", { textDocument: { uri: URI }, position: positionAt(text, offset) });
    completion.push(performance.now() - sent);
    if (list.items.length === 0) throw new Error(`no completion items after ${JSON.stringify(needle)}`);
  }

  const fullCheckCpuMs = await checkSourceCpuMs(text, samples);
  const diagnosticsMs = median(clean);
  return {
    rules: RULES,
    diagnosticsMs: round(diagnosticsMs),
    completionMs: round(median(completion)),
    incremental: true,
    diagnosticsCpuMs: cpu0 === null || cpu1 === null ? null : round((cpu1 - cpu0) / samples),
    openMs: round(openMs),
    errorDiagnosticsMs: round(median(broken)),
    errorDiagnosticsCpuMs: cpu0 === null ? null : round(brokenCpu / samples),
    completionAfterChangeMs: round(median(afterChange)),
    fullCheckCpuMs: round(fullCheckCpuMs),
    warnings: opened.diagnostics.length,
    changesPerSec: Math.round(1000 / diagnosticsMs),
    samples,
  };
}

/** Median CPU time of one `checkSource(text)` with the bundled leash, after two warm-up calls. */
async function checkSourceCpuMs(text: string, runs: number): Promise<number> {
  const leash = (await import(await leashModuleUrl())) as { checkSource(source: string, file: string): unknown[] };
  leash.checkSource(text, "policy.rules");
  leash.checkSource(text, "policy.rules");
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    leash.checkSource(text, "policy.rules");
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
  }
  return median(cpu);
}

function positionAt(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let start = 0;
  for (let nl = text.indexOf("\n"); nl !== -1 && nl < offset; nl = text.indexOf("\n", nl + 1)) {
    line++;
    start = nl + 1;
  }
  return { line, character: offset - start };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = await lspBench({ quick: process.argv.includes("--quick") });
  console.log(JSON.stringify({ suite: "lsp", ...r }));
}
