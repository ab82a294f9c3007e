/**
 * Mutation suite: how much of a policy change `leash diff` and `leash test` catch.
 *
 * Every policy in examples/ and test/corpus/policies/ is mutated by fixed operators on its syntax
 * tree — a window shortened (halved) or lengthened (doubled), a threshold one up or down, a limit
 * N -> N+1, a deny or challenge rule removed, a principal or resource selector widened to `*`, an
 * `unless` dropped, a `[high]` tag removed, a key changed session <-> principal — and printed with
 * the formatter, so every mutant is a real `.rules` file. A mutant that does not compile, or prints
 * the same as the original, is left out.
 *
 * For each mutant, `diffPolicies(original, mutant)` runs at its default settings (seeded by the
 * mutant's number, so a run can be repeated): a difference kills the mutant. A mutant it does not
 * kill is checked twice more: a search ten times as long, and the exhaustive mode (every trace of up
 * to `BOUND` events over both alphabets). It is *equivalent* when neither finds a difference and the
 * exhaustive search reached at least `MIN_BOUND` events; otherwise it is a miss (a difference exists
 * or equality is not proved) and counts against the score: score = killed / (mutants - equivalent).
 *
 * The second row is the same mutants under `leash test` at its default settings: a mutant is killed
 * when one of the policy's own properties finds a counterexample (the first column), or when any of
 * its tests or properties fails.
 *
 * `npx tsx bench/mutation.ts [--quick] [--json] [--list]`; `npm run bench -- --suite mutation`.
 * `--quick` takes the examples only. The default `npm run bench` leaves this suite out: it takes
 * several minutes (see bench/README.md).
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { DurationLit, Expr, KeyRef, PolicyFile, RuleDecl, WhenClause } from "../src/ast/nodes.js";
import { compilePolicy } from "../src/compile/compile.js";
import { printPolicy } from "../src/format/index.js";
import { durationText } from "../src/testing/render.js";
import type * as Testing from "../src/testing/index.js";
import type { BenchOptions, BenchRow } from "./report.js";

const ROOT = new URL("../", import.meta.url);
/** Bound of the exhaustive check that makes a surviving mutant equivalent. */
const BOUND = 3;
/** The least depth the exhaustive check must reach for a mutant to count as equivalent. */
const MIN_BOUND = 2;
const EXHAUSTIVE_BUDGET = 3_000_000;

/** One mutant: where it came from and its text. */
export interface Mutant {
  readonly policy: string;
  readonly operator: Operator;
  /** What was changed, in words: `no-exfil: within 10m -> 5m`. */
  readonly change: string;
  readonly source: string;
}

export type Operator =
  | "window shortened"
  | "window lengthened"
  | "threshold +1"
  | "threshold -1"
  | "limit N -> N+1"
  | "deny or challenge rule removed"
  | "selector widened to *"
  | "unless dropped"
  | "[high] tag removed"
  | "key session <-> principal";

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** A copy of the tree to change (spans are kept, so the printer keeps comments and blank lines). */
function copy(ast: PolicyFile): Mutable<PolicyFile> {
  return structuredClone(ast) as Mutable<PolicyFile>;
}

/** Every node of a tree with its parent and key, parents first. */
function* nodes(node: unknown, parent: Record<string, unknown> | null = null, key: string | number = ""): Generator<{ node: Record<string, unknown>; parent: Record<string, unknown> | null; key: string | number }> {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* nodes(node[i], node as unknown as Record<string, unknown>, i);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const n = node as Record<string, unknown>;
  // Tests and properties are what a mutant is judged by, never part of it.
  if (n.kind === "TestDecl" || n.kind === "PropertyDecl") return;
  if (typeof n.kind === "string") yield { node: n, parent, key };
  for (const [k, v] of Object.entries(n)) if (k !== "span" && v !== null && typeof v === "object") yield* nodes(v, n, k);
}

/** Applies `change` to the i-th node `pick` selects in a copy of the tree. */
function at(ast: PolicyFile, pick: (n: Record<string, unknown>, parent: Record<string, unknown> | null, key: string | number) => boolean, i: number, change: (n: Record<string, unknown>, parent: Record<string, unknown> | null, key: string | number) => void): PolicyFile {
  const c = copy(ast);
  let k = 0;
  for (const { node, parent, key } of nodes(c)) if (pick(node, parent, key) && k++ === i) change(node, parent, key);
  return c as PolicyFile;
}

function count(ast: PolicyFile, pick: (n: Record<string, unknown>, parent: Record<string, unknown> | null, key: string | number) => boolean): number {
  let k = 0;
  for (const { node, parent, key } of nodes(ast)) if (pick(node, parent, key)) k++;
  return k;
}

function ruleOf(ast: PolicyFile, target: unknown): string {
  for (const item of ast.items) {
    if (item.kind !== "RuleDecl" && item.kind !== "WorkflowDecl") continue;
    for (const { node } of nodes(item)) if (node === target) return item.name.value;
  }
  return "policy";
}

/** A duration that is a window, a grant, a label's lifetime, or compared with `since`/`gap`. */
function isWindow(n: Record<string, unknown>, parent: Record<string, unknown> | null, key: string | number): boolean {
  if (n.kind !== "DurationLit" || parent === null) return false;
  const p = parent.kind;
  if ((p === "AfterCall" || p === "CountCall" || p === "DistinctCall" || p === "SequenceCall" || p === "LimitClause" || p === "LabelClause") && (key === "window" || key === "duration")) return true;
  if (p === "RateCall" && key === "per") return true;
  if (p === "ValidForClause" && key === "duration") return true;
  return p === "CompareExpr";
}

/** A number a condition compares with, or a rate's limit. */
function isThreshold(n: Record<string, unknown>, parent: Record<string, unknown> | null, key: string | number): boolean {
  if (n.kind !== "NumberLit" || parent === null) return false;
  return parent.kind === "CompareExpr" || (parent.kind === "RateCall" && key === "limit");
}

function step(value: number, up: boolean): number {
  if (Number.isInteger(value)) return value + (up ? 1 : -1);
  const decimals = String(value).split(".")[1]?.length ?? 0;
  const unit = Math.pow(10, -decimals);
  return Number((value + (up ? unit : -unit)).toFixed(decimals));
}

function keyText(k: KeyRef): string {
  return k.kind === "SessionKey" ? "session" : k.kind === "PrincipalKey" ? "principal" : "path";
}

/** Every mutant of one policy by every operator. */
export function mutantsOf(policy: string, source: string): Mutant[] {
  const parsed = compilePolicy(source, { file: policy });
  if (parsed.policy === null) throw new Error(`${policy} does not compile`);
  const ast = parsed.ast;
  const original = printPolicy(ast);
  const out: Mutant[] = [];
  const seen = new Set<string>([original]);
  const add = (operator: Operator, change: string, mutated: PolicyFile) => {
    const text = printPolicy(mutated);
    if (seen.has(text)) return;
    seen.add(text);
    if (compilePolicy(text, { file: policy }).policy === null) return;
    out.push({ policy, operator, change, source: text });
  };

  for (let i = 0; i < count(ast, isWindow); i++) {
    for (const [operator, factor] of [["window shortened", 0.5], ["window lengthened", 2]] as const) {
      let what = "";
      const m = at(ast, isWindow, i, (n) => {
        const d = n as unknown as Mutable<DurationLit>;
        const ms = Math.max(1, Math.floor(d.ms * factor));
        what = `${ruleOf(ast, findOriginal(ast, isWindow, i))}: ${d.text} -> ${durationText(ms)}`;
        d.ms = ms;
        d.text = durationText(ms);
      });
      add(operator, what, m);
    }
  }
  for (let i = 0; i < count(ast, isThreshold); i++)
    for (const [operator, up] of [["threshold +1", true], ["threshold -1", false]] as const) {
      let what = "";
      const m = at(ast, isThreshold, i, (n) => {
        const v = n.value as number;
        what = `${ruleOf(ast, findOriginal(ast, isThreshold, i))}: ${v} -> ${step(v, up)}`;
        n.value = step(v, up);
      });
      add(operator, what, m);
    }
  const isLimit = (n: Record<string, unknown>) => n.kind === "LimitClause";
  for (let i = 0; i < count(ast, isLimit); i++) {
    let what = "";
    const m = at(ast, isLimit, i, (n) => {
      const c = n.count as { value: number };
      what = `${ruleOf(ast, findOriginal(ast, isLimit, i))}: limit ${c.value} -> ${c.value + 1}`;
      c.value += 1;
    });
    add("limit N -> N+1", what, m);
  }
  ast.items.forEach((item, idx) => {
    if (item.kind !== "RuleDecl" || (item.effect !== "deny" && item.effect !== "challenge")) return;
    const c = copy(ast);
    c.items.splice(idx, 1);
    add("deny or challenge rule removed", `${item.name.value} removed`, c as PolicyFile);
  });
  ast.items.forEach((item, idx) => {
    if (item.kind !== "RuleDecl") return;
    if (item.principals.length > 0 && !(item.principals.length === 1 && item.principals[0]!.principalKind === null && item.principals[0]!.id === null && item.principals[0]!.attributes.length === 0)) {
      const c = copy(ast);
      const r = c.items[idx] as Mutable<RuleDecl>;
      r.principals = [{ kind: "PrincipalSelector", span: item.principals[0]!.span, principalKind: null, id: null, attributes: [] }] as Mutable<RuleDecl>["principals"];
      add("selector widened to *", `${item.name.value}: for * (was ${item.principals.length} selector${item.principals.length === 1 ? "" : "s"})`, c as PolicyFile);
    }
    if (item.resources.length > 0 && !item.resources.some((g) => g.glob === "*")) {
      const c = copy(ast);
      const r = c.items[idx] as Mutable<RuleDecl>;
      r.resources = [{ kind: "ResourceSelector", span: item.resources[0]!.span, glob: "*" }] as Mutable<RuleDecl>["resources"];
      add("selector widened to *", `${item.name.value}: on "*"`, c as PolicyFile);
    }
    item.clauses.forEach((cl, ci) => {
      if (cl.kind !== "WhenClause" || !(cl as WhenClause).negated) return;
      const c = copy(ast);
      (c.items[idx] as Mutable<RuleDecl>).clauses.splice(ci, 1);
      add("unless dropped", `${item.name.value}: unless ${exprHead((cl as WhenClause).condition)} dropped`, c as PolicyFile);
    });
  });
  ast.items.forEach((item, idx) => {
    if (item.kind !== "ActionsBlock") return;
    item.groups.forEach((g, gi) => {
      if (!g.tags.some((t) => t.value === "high")) return;
      const c = copy(ast);
      const block = c.items[idx] as Mutable<typeof item>;
      block.groups[gi]!.tags = block.groups[gi]!.tags.filter((t) => t.value !== "high");
      add("[high] tag removed", `[high] removed from ${g.actions.map((a) => a.segments.join(".")).join(", ")}`, c as PolicyFile);
    });
  });
  const isKey = (n: Record<string, unknown>) => n.kind === "SessionKey" || n.kind === "PrincipalKey";
  for (let i = 0; i < count(ast, isKey); i++) {
    let what = "";
    const m = at(ast, isKey, i, (n) => {
      const from = keyText(n as unknown as KeyRef);
      n.kind = n.kind === "SessionKey" ? "PrincipalKey" : "SessionKey";
      what = `${ruleOf(ast, findOriginal(ast, isKey, i))}: by ${from} -> by ${from === "session" ? "principal" : "session"}`;
    });
    add("key session <-> principal", what, m);
  }
  return out;
}

function findOriginal(ast: PolicyFile, pick: (n: Record<string, unknown>, parent: Record<string, unknown> | null, key: string | number) => boolean, i: number): unknown {
  let k = 0;
  for (const { node, parent, key } of nodes(ast)) if (pick(node, parent, key) && k++ === i) return node;
  return null;
}

function exprHead(e: Expr): string {
  return e.kind.replace(/(Expr|Call|Lit)$/, "").toLowerCase();
}

/** The policies of the suite: every example, and (unless quick) the corpus. */
export function suitePolicies(quick: boolean): { file: string; source: string }[] {
  const dir = (d: string) =>
    readdirSync(fileURLToPath(new URL(d, ROOT)))
      .filter((f) => f.endsWith(".rules"))
      .sort()
      .map((f) => ({ file: `${d}${f}`, source: readFileSync(fileURLToPath(new URL(`${d}${f}`, ROOT)), "utf8") }));
  return [...dir("examples/"), ...(quick ? [] : dir("test/corpus/policies/"))];
}

/** The leash/testing users get: src/testing bundled by tsup, as `npm run build` ships it. */
async function testingModule(): Promise<typeof Testing> {
  if (process.env.LEASH_BENCH_SOURCE === "1") return (await import("../src/testing/index.js")) as typeof Testing;
  const { build } = await import("tsup");
  const outDir = fileURLToPath(new URL("node_modules/.cache/leash-bench-testing/", ROOT));
  await build({ entry: { testing: fileURLToPath(new URL("src/testing/index.ts", ROOT)) }, format: ["esm"], outDir, target: "node20", platform: "node", splitting: false, sourcemap: false, dts: false, clean: true, silent: true, config: false });
  return (await import(pathToFileURL(`${outDir}testing.js`).href)) as typeof Testing;
}

/** What happened to one mutant. */
interface Outcome {
  readonly mutant: Mutant;
  readonly killed: boolean;
  readonly ms: number;
  readonly cpuMs: number;
  /** For a survivor: equivalent (proved up to `bound`), or missed (why). */
  readonly equivalent?: { readonly bound: number };
  readonly missed?: string;
  readonly propertyKilled: boolean;
  readonly testKilled: boolean;
}

function judge(t: typeof Testing, m: Mutant, index: number): Outcome {
  const original = { source: suiteSource(m.policy), file: m.policy };
  const mutant = { source: m.source, file: `${m.policy} (${m.operator})` };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const report = t.diffPolicies(original, mutant, { seed: index });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const suite = t.testPolicySource(m.source, { file: m.policy, seed: index });
  const propertyKilled = suite.properties.some((p) => p.counterexample !== undefined);
  const testKilled = !suite.ok;
  const base = { mutant: m, ms, cpuMs, propertyKilled, testKilled };
  if (report.groups.length > 0) return { ...base, killed: true };
  const deep = t.diffPolicies(original, mutant, { seed: index + 1_000_000, runs: 3000, maxRounds: 10, timeout: 120_000 });
  if (deep.groups.length > 0) return { ...base, killed: false, missed: `a longer search found ${deep.groups[0]!.action} ${deep.groups[0]!.direction}` };
  const proof = t.diffPolicies(original, mutant, { seed: index, runs: 1, maxRounds: 1, exhaustive: BOUND, exhaustiveBudget: EXHAUSTIVE_BUDGET, timeout: 600_000 });
  if (proof.groups.length > 0) return { ...base, killed: false, missed: `the exhaustive search found ${proof.groups[0]!.action} ${proof.groups[0]!.direction}` };
  const depth = proof.exhaustive?.depth ?? 0;
  if (depth < MIN_BOUND) return { ...base, killed: false, missed: `equality not proved: the exhaustive search reached ${depth} of ${BOUND} events (${proof.exhaustive?.letters} letters)` };
  return { ...base, killed: false, equivalent: { bound: depth } };
}

const sources = new Map<string, string>();
function suiteSource(file: string): string {
  let s = sources.get(file);
  if (s === undefined) sources.set(file, (s = readFileSync(fileURLToPath(new URL(file, ROOT)), "utf8")));
  return s;
}

export interface MutationRow extends BenchRow {
  readonly suite: "mutation";
  readonly policies: number;
  readonly mutants: number;
  readonly equivalent: number;
  readonly killed: number;
  readonly score: number;
  readonly msPerMutant: number;
}

/** The suite: two rows (leash diff, and leash test's properties), and the outcome of every mutant on stderr. */
export async function mutationBench(opts: BenchOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<MutationRow[]> {
  const t = await testingModule();
  const policies = suitePolicies(opts.quick);
  const mutants = policies.flatMap((p) => mutantsOf(p.file, p.source));
  const started = performance.now();
  const outcomes = mutants.map((m, i) => {
    const o = judge(t, m, i + 1);
    if (!o.killed) log(`mutation: ${o.equivalent ? `equivalent (no difference up to ${o.equivalent.bound} events)` : `MISSED (${o.missed})`}: ${m.policy}: ${m.operator}: ${m.change}`);
    return o;
  });
  const seconds = (performance.now() - started) / 1000;
  const equivalent = outcomes.filter((o) => o.equivalent).length;
  const killed = outcomes.filter((o) => o.killed).length;
  const live = mutants.length - equivalent;
  const ms = outcomes.reduce((n, o) => n + o.ms, 0) / Math.max(1, outcomes.length);
  const cpuMs = outcomes.reduce((n, o) => n + o.cpuMs, 0) / Math.max(1, outcomes.length);
  const byOperator: Record<string, string> = {};
  for (const op of [...new Set(mutants.map((m) => m.operator))]) {
    const of = outcomes.filter((o) => o.mutant.operator === op);
    byOperator[op] = `${of.filter((o) => o.killed).length}/${of.filter((o) => !o.equivalent).length}`;
  }
  const propertyKilled = outcomes.filter((o) => o.propertyKilled && !o.equivalent).length;
  const testKilled = outcomes.filter((o) => o.testKilled && !o.equivalent).length;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const base = { suite: "mutation" as const, policies: policies.length, mutants: mutants.length, equivalent };
  return [
    {
      ...base,
      engine: "leash diff",
      killed,
      score: round(killed / Math.max(1, live)),
      msPerMutant: Math.round(ms),
      cpuMsPerMutant: Math.round(cpuMs),
      maxMs: Math.round(Math.max(...outcomes.map((o) => o.ms))),
      missed: outcomes.filter((o) => !o.killed && !o.equivalent).length,
      bound: BOUND,
      byOperator,
      opsPerSec: mutants.length / seconds,
    },
    { ...base, engine: "leash test (properties)", killed: propertyKilled, score: round(propertyKilled / Math.max(1, live)), msPerMutant: Math.round(ms), testsOrPropertiesKilled: testKilled, testsOrPropertiesScore: round(testKilled / Math.max(1, live)), opsPerSec: mutants.length / seconds },
  ];
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const argv = process.argv.slice(2);
  const quick = argv.includes("--quick");
  if (argv.includes("--list")) {
    for (const p of suitePolicies(quick)) for (const m of mutantsOf(p.file, p.source)) console.log(`${m.policy}\t${m.operator}\t${m.change}`);
  } else {
    const rows = await mutationBench({ quick });
    for (const r of rows) console.log(argv.includes("--json") ? JSON.stringify(r) : r);
  }
}
