/**
 * Scope suite: the same policy (10, 100, 1,000 and 10,000 rules; the id shapes `spread` and
 * `one-action`, the attribute shapes `rbac-attr`, `abac-cond` and `mixed`) decided by leash, CASL,
 * casbin, Cedar and a hand-written ceiling.
 *
 * For every (shape, size) case and engine:
 * 1. agreement: the engine answers the requests in order, each compared with the reference scan
 *    (`referenceAllows`), until all are answered or the check's time budget is spent; `checked`
 *    says how many. A fast engine answers all of them; casbin at 10,000 rules, a few milliseconds
 *    a request, answers fewer. `agree` is true only if every checked answer matches, so engines
 *    that all agree also agree with one another.
 * 2. throughput: warm-up, then timed batches in the same fixed time window for every engine,
 *    cycling through the checked requests only (so every request an engine answers while timed is
 *    one it answered correctly); the median batch is reported.
 *
 * Each case runs in its own child process so that JIT feedback and heap state from one policy
 * size do not colour the next; within a case the fast engines run first.
 *
 * Run alone: `tsx bench/scope.ts [--quick] [--json] [--case spread 1000] [--in-process]`.
 */
import { fileURLToPath } from "node:url";
import { resultOfChild } from "./child.js";
import { leashModuleUrl, leashPresent } from "./leash-build.js";
import { measure, type MeasureOptions } from "./measure.js";
import { table, type BenchOptions, type BenchRow, type RatioRow } from "./report.js";
import {
  caslEngine,
  casbinEngine,
  cedarEngine,
  ceilingEngine,
  leashEngine,
  type EngineName,
  type LeashApi,
  type ScopeEngine,
} from "./scope-engines.js";
import {
  SCOPE_SHAPES,
  scopePolicy,
  scopeRequests,
  type LabelledRequest,
  type ScopePolicy,
  type ScopeRequest,
  type ScopeShape,
} from "./scope-policies.js";

export const SCOPE_SIZES: readonly number[] = [10, 100, 1000, 10_000];

export interface Mismatch {
  readonly index: number;
  readonly variant: string;
  readonly request: ScopeRequest;
  readonly expected: "allow" | "deny";
  readonly got: "allow" | "deny";
}

export interface ScopeRow extends BenchRow {
  readonly suite: "scope";
  readonly shape: ScopeShape;
  readonly engine: EngineName;
  readonly rules: number;
  readonly opsPerSec: number;
  readonly agree: boolean;
  /** Requests generated for the case. */
  readonly requests: number;
  /**
   * Requests this engine answered in the agreement check (all of them unless it is slow): the
   * timed runs cycle through exactly these, so every request it answers is checked.
   */
  readonly checked: number;
  /** Disagreements with the reference among the checked requests. */
  readonly mismatches: number;
  /** Wall time to build the engine's input (compile, ability cache, enforcer, parsed set). */
  readonly buildMs?: number;
  readonly batch: number;
  /** Median decisions per second of process CPU time (see measure.ts). */
  readonly opsPerCpuSec: number;
  /** CPU time / wall time while timing: well under 1 means other load on the machine. */
  readonly cpuShare: number;
  /** First few disagreements with the reference, when there are any. */
  readonly firstMismatches?: readonly Mismatch[];
  /** Set when the engine could not be built or threw. */
  readonly error?: string;
}

interface CaseSettings {
  /** Requests generated per case (half allowed by some rule, half near misses). */
  readonly requests: number;
  /**
   * Wall-clock budget of one engine's agreement check: it answers requests in order until all are
   * checked or the budget, counted from its `minChecked`th answer, is spent, so a slow engine (casbin at 10,000
   * rules takes milliseconds per request) is checked on, and then timed over, fewer requests.
   */
  readonly checkMs: number;
  readonly minChecked: number;
  /** The same fixed time window for every engine, fast or slow. */
  readonly window: MeasureOptions;
}

function settings(quick: boolean): CaseSettings {
  return quick
    ? { requests: 512, checkMs: 300, minChecked: 16, window: { warmMs: 100, batchMs: 50, batches: 5 } }
    : { requests: 2048, checkMs: 1500, minChecked: 64, window: { warmMs: 300, batchMs: 150, batches: 7 } };
}

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

/**
 * leash's public API from the tsup bundle (see leash-build.ts); null while src/index.ts does not
 * exist. A leash that exists but fails to build or load is an error row, not a skip.
 */
async function loadLeash(): Promise<LeashApi | Error | null> {
  if (!leashPresent()) return null;
  try {
    return (await import(await leashModuleUrl())) as LeashApi;
  } catch (err) {
    return new Error(`leash failed to build or load: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One (shape, size) case in this process: agreement over all requests, then throughput. */
export async function runScopeCase(shape: ScopeShape, rules: number, opts: BenchOptions): Promise<ScopeRow[]> {
  const s = settings(opts.quick);
  const policy = scopePolicy(shape, rules);
  const requests = scopeRequests(policy, s.requests);
  const leash = await loadLeash();
  if (leash === null) log(`scope: src/index.ts not found, leash skipped`);

  const builders: [EngineName, () => ScopeEngine | Promise<ScopeEngine>][] = [
    ["ceiling", () => ceilingEngine(policy, requests)],
    ...(leash === null ? [] : [["leash", () => leashOrThrow(leash, policy, requests)] as [EngineName, () => ScopeEngine]]),
    ["casl", () => caslEngine(policy, requests)],
    ["casbin", () => casbinEngine(policy, requests)],
    ["cedar", () => cedarEngine(policy, requests)],
  ];
  const rows: ScopeRow[] = [];
  for (const [name, build] of builders) {
    const base = { suite: "scope", shape, engine: name, rules } as const;
    try {
      const built = performance.now();
      const engine = await build();
      const buildMs = Math.round(performance.now() - built);
      const check = checkAgreement(engine, requests, s);
      // Timed over exactly the requests it was checked on: every answer timed is one seen correct.
      engine.limit(check.checked);
      const m = measure((n) => engine.run(n), s.window);
      const count = check.mismatches.length === 0 ? 0 : check.count;
      rows.push({
        ...base,
        opsPerSec: Math.round(m.opsPerSec),
        agree: count === 0,
        requests: requests.length,
        checked: check.checked,
        mismatches: count,
        buildMs,
        batch: m.batchSize,
        opsPerCpuSec: Math.round(m.opsPerCpuSec),
        cpuShare: Math.round(m.cpuShare * 100) / 100,
        ...(count > 0 ? { firstMismatches: check.mismatches } : {}),
      });
      log(`scope ${shape} ${rules} ${name}: ${Math.round(m.opsPerSec)} ops/s, ${check.checked} of ${requests.length} requests checked, built in ${buildMs} ms${count ? `, ${count} mismatches` : ""}`);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      rows.push({ ...base, opsPerSec: 0, agree: false, requests: requests.length, checked: 0, mismatches: requests.length, batch: 0, opsPerCpuSec: 0, cpuShare: 0, error });
      log(`scope ${shape} ${rules} ${name}: ERROR ${error}`);
    }
  }
  return rows;
}

/**
 * The engine's answers to the requests in order, compared with the reference, until all are
 * checked or `checkMs` has passed after the first `minChecked`: how many were checked, how many
 * disagreed, and the first few disagreements.
 */
function checkAgreement(engine: ScopeEngine, requests: readonly LabelledRequest[], s: CaseSettings): { checked: number; count: number; mismatches: Mismatch[] } {
  const mismatches: Mismatch[] = [];
  let count = 0;
  let checked = 0;
  // The budget starts after the first `minChecked` answers, which may build what an engine builds
  // on first use (leash's bucket of an action).
  let start = Infinity;
  const least = Math.min(s.minChecked, requests.length);
  while (checked < requests.length && (checked < least || performance.now() - start < s.checkMs)) {
    if (checked === least) start = performance.now();
    const i = checked++;
    const got = engine.decide(i);
    const want = requests[i]!.allow;
    if (got === want) continue;
    count++;
    if (mismatches.length < 5) {
      const { request, variant } = requests[i]!;
      mismatches.push({ index: i, variant, request, expected: want ? "allow" : "deny", got: got ? "allow" : "deny" });
    }
  }
  return { checked, count, mismatches };
}

function leashOrThrow(leash: LeashApi | Error, policy: ScopePolicy, requests: readonly LabelledRequest[]): ScopeEngine {
  if (leash instanceof Error) throw leash;
  return leashEngine(leash, policy, requests);
}

/** Runs one case in a child process (same loader flags as this one) and collects its rows. */
function runCaseInChild(shape: ScopeShape, rules: number, opts: BenchOptions): Promise<ScopeRow[]> {
  const args = ["--case", shape, String(rules), ...(opts.quick ? ["--quick"] : []), "--child"];
  return resultOfChild<ScopeRow[]>(import.meta.url, args, `scope case ${shape}/${rules}`);
}

export interface ScopeBenchOptions extends BenchOptions {
  /** Run every case in this process instead of one child per case (faster start, less clean). */
  readonly inProcess?: boolean;
  readonly shapes?: readonly ScopeShape[];
  readonly sizes?: readonly number[];
}

export async function scopeBench(opts: ScopeBenchOptions): Promise<ScopeRow[]> {
  // Build leash once here; the children find the bundle through the environment they inherit.
  if (leashPresent()) await leashModuleUrl().catch(() => undefined);
  const rows: ScopeRow[] = [];
  for (const shape of opts.shapes ?? SCOPE_SHAPES) {
    for (const rules of opts.sizes ?? SCOPE_SIZES) {
      rows.push(...(opts.inProcess ? await runScopeCase(shape, rules, opts) : await runCaseInChild(shape, rules, opts)));
    }
  }
  return rows;
}

/**
 * leash vs CASL and vs the ceiling per case; leash (and CASL) at 1,000 rules and at the largest size vs the smallest.
 * `value` compares wall-clock rates, `cpuValue` CPU-time rates (steadier on a busy machine).
 */
export function scopeRatios(rows: readonly ScopeRow[]): RatioRow[] {
  const find = (shape: string, engine: string, rules: number) =>
    rows.find((r) => r.shape === shape && r.engine === engine && r.rules === rules && !r.error && r.opsPerSec > 0);
  const ratio = (a: ScopeRow | undefined, b: ScopeRow | undefined) =>
    a && b ? { value: round(a.opsPerSec / b.opsPerSec), cpuValue: round(a.opsPerCpuSec / b.opsPerCpuSec) } : null;
  const out: RatioRow[] = [];
  const shapes = [...new Set(rows.map((r) => r.shape))];
  const sizes = [...new Set(rows.map((r) => r.rules))].sort((a, b) => a - b);
  for (const shape of shapes) {
    for (const rules of sizes) {
      for (const peer of ["casl", "ceiling"]) {
        const r = ratio(find(shape, "leash", rules), find(shape, peer, rules));
        if (r) out.push({ suite: "scope", ratio: `leash/${peer}`, shape, rules, ...r });
      }
    }
    const lo = sizes[0];
    if (lo === undefined) continue;
    // Flatness: at 1,000 rules (the target's size) and at the largest size, against the smallest.
    for (const hi of new Set(sizes.filter((n) => n > lo && (n === 1000 || n === sizes[sizes.length - 1])))) {
      for (const engine of ["leash", "casl"]) {
        const r = ratio(find(shape, engine, hi), find(shape, engine, lo));
        if (r) out.push({ suite: "scope", ratio: `${engine}@${hi}/${engine}@${lo}`, shape, ...r });
      }
    }
  }
  return out;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** Disagreements in a readable form (stderr in the runner). */
export function describeMismatches(rows: readonly ScopeRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.agree) continue;
    if (r.error) out.push(`scope ${r.shape}/${r.rules} ${r.engine}: error: ${r.error}`);
    for (const m of r.firstMismatches ?? []) {
      out.push(
        `scope ${r.shape}/${r.rules} ${r.engine}: request #${m.index} (${m.variant}) expected ${m.expected}, got ${m.got}: ${JSON.stringify(m.request)}`,
      );
    }
    if (r.mismatches > (r.firstMismatches?.length ?? 0) && !r.error) {
      out.push(`scope ${r.shape}/${r.rules} ${r.engine}: ... ${r.mismatches} mismatches of ${r.checked} checked requests`);
    }
  }
  return out;
}

export function scopeTable(rows: readonly ScopeRow[]): string {
  return table(rows, ["suite", "firstMismatches", "error"]);
}

/* ---------------------------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------------------------- */

async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes("--quick");
  const at = argv.indexOf("--case");
  if (argv.includes("--child")) {
    const rows = await runScopeCase(argv[at + 1] as ScopeShape, Number(argv[at + 2]), { quick });
    process.send!(rows, () => process.exit(0));
    return;
  }
  const rows = await scopeBench({
    quick,
    inProcess: argv.includes("--in-process"),
    ...(at >= 0 ? { shapes: [argv[at + 1] as ScopeShape], sizes: [Number(argv[at + 2])] } : {}),
  });
  const ratios = scopeRatios(rows);
  if (argv.includes("--json")) {
    for (const r of rows) console.log(JSON.stringify(r));
    for (const r of ratios) console.log(JSON.stringify(r));
  } else {
    console.log(scopeTable(rows));
    if (ratios.length > 0) console.log(`\n${table(ratios as unknown as Record<string, unknown>[], ["suite"])}`);
  }
  for (const line of describeMismatches(rows)) log(line);
  if (rows.some((r) => !r.agree)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2));
}
