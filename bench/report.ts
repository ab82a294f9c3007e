/**
 * Result rows shared by every suite, and their rendering: one JSON object per line (`--json`)
 * or an aligned text table.
 *
 * A suite returns `BenchRow[]`. The fields `suite`, `engine` and `opsPerSec` are expected; any
 * other fields (shape, rules, agree, ...) are printed as columns in the order first seen.
 */

export interface BenchRow {
  readonly suite: string;
  readonly engine: string;
  readonly opsPerSec: number;
  readonly shape?: string;
  readonly rules?: number;
  /** false when the engine's decisions differ from the reference on any request. */
  readonly agree?: boolean;
  readonly [extra: string]: unknown;
}

export interface BenchOptions {
  /** A fast, noisier run (smaller batches, fewer requests). */
  readonly quick: boolean;
}

/** A ratio printed under the table (and as a JSON line with `ratio`). */
export interface RatioRow {
  readonly suite: string;
  readonly ratio: string;
  readonly shape?: string;
  readonly rules?: number;
  readonly value: number;
  readonly cpuValue?: number;
}

export function formatOps(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(x >= 100 ? 0 : 1);
}

function cell(key: string, value: unknown): string {
  if (value === undefined) return "";
  if (key === "opsPerSec" && typeof value === "number") return formatOps(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** An aligned table; numeric-looking columns are right-aligned. */
export function table(rows: readonly Record<string, unknown>[], hide: readonly string[] = []): string {
  const keys: string[] = [];
  for (const row of rows) for (const k of Object.keys(row)) if (!keys.includes(k) && !hide.includes(k)) keys.push(k);
  const cells = rows.map((row) => keys.map((k) => cell(k, row[k])));
  const width = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => c[i]!.length)));
  const right = keys.map((k) => rows.every((r) => r[k] === undefined || typeof r[k] === "number"));
  const line = (cs: readonly string[]) =>
    cs.map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join("  ").trimEnd();
  return [line(keys), line(width.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}
