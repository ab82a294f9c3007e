/**
 * Turns `npm run -s bench -- --json` output into the Markdown tables of bench/README.md:
 * `npm run -s bench -- --json | tee out.jsonl; npx tsx bench/markdown.ts < out.jsonl`.
 * Scope rows are pivoted (engine × shape/size, decisions/s); other suites are listed as they are.
 */
import { formatOps, type BenchRow, type RatioRow } from "./report.js";

const ENGINE_LABEL: Record<string, string> = {
  ceiling: "hand-written JS (ceiling)",
  leash: "leash",
  casl: "CASL 7.0.1 (ability cached per principal)",
  casbin: "casbin 5.51.1",
  cedar: "cedar-wasm 4.13.0 (pre-parsed set)",
};

function mdTable(header: readonly string[], body: readonly (readonly string[])[], right: (i: number) => boolean): string {
  const sep = header.map((_, i) => (right(i) ? "---:" : "---"));
  return [header, sep, ...body].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function scopeTable(rows: readonly BenchRow[], field: "opsPerSec" | "opsPerCpuSec"): string {
  const cols = [...new Set(rows.map((r) => `${r.shape}|${r.rules}`))];
  const engines = [...new Set(rows.map((r) => r.engine))];
  const header = ["engine", ...cols.map((c) => c.replace("|", " "))];
  const body = engines.map((e) => [
    ENGINE_LABEL[e] ?? e,
    ...cols.map((c) => {
      const r = rows.find((x) => x.engine === e && `${x.shape}|${x.rules}` === c);
      if (!r) return "—";
      return `${formatOps(Number(r[field]))}${r.agree === false ? " ✗" : ""}`;
    }),
  ]);
  return mdTable(header, body, (i) => i > 0);
}

function cpuShareRange(rows: readonly BenchRow[]): string {
  const shares = rows.map((r) => Number(r.cpuShare)).filter((x) => Number.isFinite(x) && x > 0);
  return shares.length === 0 ? "?" : `${Math.min(...shares).toFixed(2)}–${Math.max(...shares).toFixed(2)}`;
}

const lines = (await new Promise<string>((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => resolve(text));
}))
  .split("\n")
  .filter((l) => l.startsWith("{"))
  .map((l) => JSON.parse(l) as BenchRow & Partial<RatioRow>);

const rows = lines.filter((l) => l.ratio === undefined) as BenchRow[];
const ratios = lines.filter((l) => l.ratio !== undefined) as unknown as RatioRow[];

const scope = rows.filter((r) => r.suite === "scope");
if (scope.length > 0) {
  console.log(`Scope decisions per second of wall-clock time (median; ✗ = disagrees with the reference):\n\n${scopeTable(scope, "opsPerSec")}\n`);
  console.log(`Scope decisions per second of process CPU time (median; CPU/wall share while timing: ${cpuShareRange(scope)}):\n\n${scopeTable(scope, "opsPerCpuSec")}\n`);
}
if (ratios.length > 0) {
  const body = ratios.map((r) => [
    r.ratio,
    r.shape ?? "",
    r.rules === undefined ? "" : String(r.rules),
    r.value.toFixed(2),
    r.cpuValue === undefined ? "" : r.cpuValue.toFixed(2),
  ]);
  console.log(`${mdTable(["ratio", "shape", "rules", "wall clock", "CPU time"], body, (i) => i >= 3)}\n`);
}
for (const suite of [...new Set(rows.map((r) => r.suite))].filter((s) => s !== "scope")) {
  const own = rows.filter((r) => r.suite === suite);
  const keys = [...new Set(own.flatMap((r) => Object.keys(r)))].filter((k) => k !== "suite");
  const body = own.map((r) => keys.map((k) => (k === "opsPerSec" ? formatOps(r.opsPerSec) : r[k] === undefined ? "" : String(r[k]))));
  console.log(`${suite}:\n\n${mdTable(keys, body, (i) => typeof own[0]?.[keys[i]!] === "number")}\n`);
}
