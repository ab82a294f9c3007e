/**
 * Parse benchmark: tokenise + parse + build the AST of 10,000 varied rules with `parsePolicy`;
 * and compile at scale: `compilePolicy` of a 100,000-rule scope policy (the scope suite's `spread`
 * shape) in a fresh child process, with its wall and CPU time and the process's peak RSS.
 * `tsx bench/parse.ts` prints both lines; `parseSuite()` returns both rows.
 */
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
  readonly engine: "leash-compile";
  readonly rules: number;
  readonly ms: number;
  readonly cpuMs: number;
  /** Peak resident set size of the process that compiled (the source text and the loader included). */
  readonly peakRssMb: number;
  /** Resident set size before compiling, with the source text built. */
  readonly startRssMb: number;
  readonly rulesPerSec: number;
  readonly agree: boolean;
  readonly error?: string;
}

/** Compiles a `rules`-rule scope policy once, in this process (the child's side of `compileScaleBench`). */
async function compileScaleHere(rules: number): Promise<CompileScaleRow> {
  const { compilePolicy } = (await import(await leashModuleUrl())) as typeof import("../src/index.js");
  const source = toLeashRules(scopePolicy("spread", rules));
  const startRssMb = Math.round(process.memoryUsage().rss / 1048576);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const r = compilePolicy(source, { file: "scale.rules" });
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpuStart);
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const row = { engine: "leash-compile" as const, rules, ms: Math.round(ms), cpuMs: Math.round((used.user + used.system) / 1000), peakRssMb, startRssMb, rulesPerSec: Math.round((rules / ms) * 1000) };
  if (r.policy === null) return { ...row, agree: false, error: `${r.diagnostics[0]?.code ?? "?"} ${r.diagnostics[0]?.message ?? "no policy"}` };
  return { ...row, agree: true };
}

/** Compile at scale in a child process of its own, so that its peak RSS is the compile's alone. */
export function compileScaleBench(rules = 100_000): Promise<CompileScaleRow> {
  return resultOfChild<CompileScaleRow>(import.meta.url, ["--compile-scale", String(rules)], "the compile-scale child");
}

/** The parse suite's rows: the parse of 10,000 rules and the compile of 100,000. */
export async function parseSuite(): Promise<Record<string, unknown>[]> {
  return [{ engine: "leash-parse", ...parseBench() }, { ...(await compileScaleBench()) }];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const at = process.argv.indexOf("--compile-scale");
  if (at >= 0) {
    const row = await compileScaleHere(Number(process.argv[at + 1]));
    if (process.send) process.send(row);
    else console.log(JSON.stringify(row));
  } else {
    const r = parseBench();
    console.log(`parse: ${r.rules} rules in ${r.ms} ms (median of 5; CPU ${r.cpuMs} ms) = ${r.rulesPerSec.toLocaleString("en")} rules/s`);
    const c = await compileScaleBench();
    console.log(`compile: ${c.rules} rules in ${c.ms} ms (CPU ${c.cpuMs} ms), peak RSS ${c.peakRssMb} MB (${c.startRssMb} MB before)${c.error ? ` — ${c.error}` : ""}`);
  }
}
