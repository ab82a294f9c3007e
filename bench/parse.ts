/**
 * Parse benchmark: tokenise + parse + build the AST of 10,000 varied rules with `parsePolicy`;
 * and compile at scale: `compilePolicy` of a 100,000-rule scope policy (the scope suite's `spread`
 * shape, generated here and read from a file by the child) in a fresh child process, with its wall
 * and CPU time and the process's peak RSS.
 * `tsx bench/parse.ts` prints both lines; `parseSuite()` returns both rows.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parsePolicy } from "../src/syntax/index.js";
import { resultOfChild } from "./child.js";
import { leashModuleUrl } from "./leash-build.js";
import { scopePolicy, toLeashRules } from "./scope-policies.js";

/** One rule per template, numbered so that every rule name is unique. */
const TEMPLATES: readonly ((i: number) => string)[] = [
  (i) => `rule validate-builds-${i}: allow build.validate for agent "deploy-bot-${i}" on repo/*`,
  (i) => `rule draft-${i}: allow ticket.draft, ticket.read for agent * valid for 15m`,
  (i) => `rule one-secret-${i}: allow secret.read for service "billing" on secret/billing/* limit 1 per session`,
  (i) =>
    `rule no-mass-rotation-${i}: deny secret.rotate when count(secret.rotate by principal within 1h) >= 3\n  reason "rotating many secrets needs a human"`,
  (i) => `rule release-approval-${i}: challenge release.push unless after(approval.granted by session within 1h) require mfa`,
  (i) => `rule no-exfil-${i}: deny email.send, http.post when after(secret.read by session within 10m)`,
  (i) => `rule stuffing-${i}: challenge login.attempt when count(attempted login.fail by context.ip within 1m) >= 5`,
  (i) => `rule robotic-${i}: flag login.attempt when gap(login.attempt by context.ip) < 300ms or regularity(login.attempt by context.ip over 10) < 0.1`,
  (i) => `rule chaining-${i}: deny * for service * when distinct(action.domain by principal within 5m) > 3`,
  (i) => `rule checkout-${i}: flag payment.submit when sequence(account.create, cart.add | cart.update by session within 30s)`,
  (i) => `rule risk-${i}: revoke * when context.risk >= 0.9 and not (principal.team in ["sre", "security"]) target principal`,
  (i) =>
    `rule scoped-${i}: allow ticket.* for agent "bot-*" { team: "support" }, human * on "tickets/${i}/*"\n  when resource.owner == principal.id and context.mfa == true label session += tickets for 1h`,
];

export function generateRules(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(TEMPLATES[i % TEMPLATES.length]!(i));
  return lines.join("\n");
}

/**
 * Tokenise, parse and build the AST of `rules` generated rules, `runs` times after one warm-up run.
 * `ms` is the median wall time; `cpuMs` the median CPU time of the process (GC threads included),
 * which says more than wall time on a busy machine.
 */
export function parseBench(rules = 10_000, runs = 5): { rules: number; ms: number; rulesPerSec: number; cpuMs: number } {
  const source = generateRules(rules);
  const first = parsePolicy(source, { file: "bench.rules" });
  if (first.diagnostics.length > 0 || first.ast.items.length !== rules) {
    throw new Error(`bench source does not parse: ${first.diagnostics[0]?.message ?? `${first.ast.items.length} items`}`);
  }
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    parsePolicy(source, { file: "bench.rules" });
    wall.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = median(wall);
  return { rules, ms: Math.round(ms * 10) / 10, rulesPerSec: Math.round((rules / ms) * 1000), cpuMs: Math.round(median(cpu) * 10) / 10 };
}

export interface CompileScaleRow {
  readonly engine: "leash-compile" | "leash-compile-limit";
  readonly rules: number;
  readonly ms: number;
  readonly cpuMs: number;
  /** Peak resident set size of the process that compiled (the source text and the loader included). */
  readonly peakRssMb: number;
  /** Resident set size before compiling, with the leash bundle loaded and the source text read. */
  readonly startRssMb: number;
  readonly rulesPerSec: number;
  readonly agree: boolean;
  readonly error?: string;
}

/**
 * Compile at scale in a child process of its own, so that its peak RSS is the compile's alone: plain
 * node importing the leash bundle, as an application does (bench/compile-scale-child.mjs), with the
 * policy text generated here and read from a file. A child under this process's loader (tsx) with
 * the generator in it started at about 215 MB of RSS; this one starts at about 85 MB.
 */
export async function compileScaleBench(rules = 100_000): Promise<CompileScaleRow> {
  const bundle = await leashModuleUrl();
  const dir = mkdtempSync(join(tmpdir(), "leash-compile-scale-"));
  const file = join(dir, "scale.rules");
  try {
    writeFileSync(file, toLeashRules(scopePolicy("spread", rules)));
    const child = new URL("./compile-scale-child.mjs", import.meta.url).href;
    // src/ through tsx (LEASH_BENCH_SOURCE=1) needs this process's loader; the bundle needs none.
    const loader = process.env.LEASH_BENCH_SOURCE === "1" ? undefined : [];
    return await resultOfChild<CompileScaleRow>(child, [bundle, file, String(rules)], "the compile-scale child", loader);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Rules of the `spread` shape in a file of about 10 MB: more syntax nodes than a file may have
 * (1,000,000), so the compile ends with P104 (the `leash-compile-limit` row).
 */
export const LIMIT_RULES = 135_000;

/**
 * The parse suite's rows: the parse of 10,000 rules, the compile of 100,000, and a 10 MB file to its
 * limit diagnostic (the row agrees when that diagnostic is P104, which it names in `diagnostic`).
 */
export async function parseSuite(): Promise<Record<string, unknown>[]> {
  const { error, ...limit } = await compileScaleBench(LIMIT_RULES);
  const diagnostic = error ?? "none";
  return [
    { engine: "leash-parse", ...parseBench() },
    { ...(await compileScaleBench()) },
    { ...limit, engine: "leash-compile-limit", diagnostic, agree: diagnostic.startsWith("P104 ") },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = parseBench();
  console.log(`parse: ${r.rules} rules in ${r.ms} ms (median of 5; CPU ${r.cpuMs} ms) = ${r.rulesPerSec.toLocaleString("en")} rules/s`);
  const c = await compileScaleBench();
  console.log(`compile: ${c.rules} rules in ${c.ms} ms (CPU ${c.cpuMs} ms), peak RSS ${c.peakRssMb} MB (${c.startRssMb} MB before)${c.error ? ` — ${c.error}` : ""}`);
  const l = await compileScaleBench(LIMIT_RULES);
  console.log(`compile to the limit: ${l.rules} rules in ${l.ms} ms (CPU ${l.cpuMs} ms), peak RSS ${l.peakRssMb} MB (${l.startRssMb} MB before) — ${l.error ?? "no diagnostic"}`);
}
