/**
 * `npm run bench [-- --quick] [-- --json] [-- --suite scope,parse,sequence,lsp,guard,mcp,http,mutation]`
 *
 * Runs the suites, prints a table per suite (or, with `--json`, one JSON object per line on
 * stdout and nothing else there), then the scope ratios. Exits non-zero if any engine disagreed
 * with the reference or failed.
 *
 * `sequenceBenchInChild(quick)` is imported statically; `parse.ts` is loaded only if it exists.
 * Suites return rows, `{ rows }` or one result object (see `normalise`). A suite that throws is
 * reported as a failed row. A suite marked `onlyWhenAsked` (mutation: several minutes) runs only
 * when `--suite` names it.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { table, type BenchOptions, type BenchRow, type RatioRow } from "./report.js";
import { describeMismatches, scopeBench, scopeRatios, scopeTable, type ScopeRow } from "./scope.js";
import { lspBench } from "./lsp.js";
import { sequenceBenchInChild, sequenceRatios, type SequenceRow } from "./sequence.js";
import { guardBenchInChild, guardRatios, type GuardRow } from "./guard.js";
import { guardRedisBenchInChild, guardRedisRatios } from "./guard-redis.js";
import { mcpBench } from "./mcp.js";
import { mutationBench } from "./mutation.js";
import { httpBench, httpRatios, type HttpRow, type HttpSpanRow } from "./http.js";

/** What a suite returns is checked by `normalise`. */
type Suite = (opts: BenchOptions) => unknown;

/** A suite from a sibling file, or null if the file is not there yet (parse.ts until it lands). */
async function optionalSuite(file: string, exportName: string, passOptions = true): Promise<Suite | null> {
  const url = new URL(file, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return null;
  const mod = (await import(url.href)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== "function") throw new Error(`bench/${file} does not export ${exportName}()`);
  return passOptions ? (fn as Suite) : () => (fn as () => unknown)();
}

/**
 * Accepts `BenchRow[]`, `{ rows: BenchRow[] }` or one result object such as parseBench's
 * `{ rules, ms, rulesPerSec }` (its first `*PerSec` field becomes `opsPerSec`). Fills in `suite`,
 * and `engine: "leash"` when a row has no engine.
 */
function normalise(name: string, out: unknown): BenchRow[] {
  const list: unknown[] = Array.isArray(out)
    ? out
    : Array.isArray((out as { rows?: unknown })?.rows)
      ? (out as { rows: unknown[] }).rows
      : out !== null && typeof out === "object"
        ? [out]
        : [];
  if (list.length === 0) throw new Error(`suite ${name} returned ${JSON.stringify(out)}, expected rows`);
  return list.map((r) => {
    const row = r as Record<string, unknown>;
    const rate = Object.keys(row).find((k) => k.endsWith("PerSec"));
    const opsPerSec = typeof row.opsPerSec === "number" ? row.opsPerSec : rate !== undefined ? row[rate] : undefined;
    if (typeof opsPerSec !== "number") throw new Error(`suite ${name}: a row has no opsPerSec: ${JSON.stringify(row)}`);
    return { suite: name, engine: "leash", ...row, opsPerSec } as BenchRow;
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const opts: BenchOptions = { quick: argv.includes("--quick") };
  const json = argv.includes("--json");
  const at = argv.indexOf("--suite");
  const wanted = at >= 0 ? new Set((argv[at + 1] ?? "").split(",")) : null;
  const want = (name: string) => wanted === null || wanted.has(name);
  const say = (text: string) => (json ? process.stderr.write(`${text}\n`) : console.log(text));

  const suites: [string, Suite | null][] = [
    ["scope", (o) => scopeBench(o)],
    // The parse of 10,000 rules and the compile of a 100,000-rule policy (in a child process); no options.
    ["parse", await optionalSuite("./parse.ts", "parseSuite", false)],
    ["sequence", (o) => sequenceBenchInChild(o.quick)],
    ["lsp", (o) => lspBench(o)],
    // The guard suite: the Guard over memoryStore beside the pure decide, then the Redis rows
    // (standalone, Cluster, raw-script baseline) with servers of their own.
    ["guard", async (o) => [...(await guardBenchInChild(o.quick)), ...(await guardRedisBenchInChild(o.quick))]],
    // Added latency per MCP tool call, in process and through leash mcp-proxy, against the same calls unguarded.
    ["mcp", (o) => mcpBench(o)],
    // How many policy mutants leash diff and leash test catch (several minutes: only with --suite mutation).
    ["mutation", (o) => mutationBench(o)],
    // autocannon against the example shop and a catalog on express, fastify and hono, with and without leash.
    ["http", (o) => httpBench(o.quick)],
  ];
  const onlyWhenAsked = new Set(["mutation"]);
  say(`leash bench — ${new Date().toISOString()} — node ${process.version}${opts.quick ? " — quick" : ""}`);

  const rows: BenchRow[] = [];
  let ratios: RatioRow[] = [];
  for (const [name, suite] of suites) {
    if (!want(name) || (wanted === null && onlyWhenAsked.has(name))) continue;
    if (suite === null) {
      say(`\n${name}: bench/${name}.ts not present, skipped`);
      continue;
    }
    let got: BenchRow[];
    try {
      got = normalise(name, await suite(opts));
    } catch (err) {
      // A suite that throws fails the run but does not hide the other suites' results.
      const error = err instanceof Error ? err.message : String(err);
      got = [{ suite: name, engine: "leash", opsPerSec: 0, agree: false, error }];
    }
    rows.push(...got);
    if (json) {
      for (const r of got) console.log(JSON.stringify(r));
    } else {
      console.log(`\n## ${name}\n`);
      console.log(name === "scope" ? scopeTable(got as ScopeRow[]) : table(got, ["suite"]));
    }
    if (name === "scope") ratios = scopeRatios(got as ScopeRow[]);
    if (name === "sequence") ratios = [...ratios, ...sequenceRatios(got as unknown as SequenceRow[])];
    if (name === "guard") ratios = [...ratios, ...guardRatios(got.filter((r) => typeof r.store === "string" && !r.store.startsWith("redis")) as unknown as GuardRow[])];
    if (name === "http") ratios = [...ratios, ...httpRatios(got as unknown as (HttpRow | HttpSpanRow)[])];
    if (name === "guard") ratios = [...ratios, ...guardRedisRatios(got.filter((r) => typeof r.store === "string" && r.store.startsWith("redis")) as unknown as GuardRow[])];
  }

  if (ratios.length > 0) {
    if (json) for (const r of ratios) console.log(JSON.stringify(r));
    else console.log(`\n## ratios\n\n${table(ratios as unknown as Record<string, unknown>[], ["suite"])}`);
  }

  const problems = [
    ...describeMismatches(rows.filter((r): r is ScopeRow => r.suite === "scope")),
    ...rows
      .filter((r) => r.suite !== "scope" && r.agree === false)
      .map((r) => `${r.suite} ${r.engine}: ${typeof r.error === "string" ? `error: ${r.error}` : `disagrees ${JSON.stringify(r)}`}`),
  ];
  if (problems.length > 0) {
    process.stderr.write(`\nDISAGREEMENT\n${problems.join("\n")}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
