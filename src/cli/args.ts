import { UsageError } from "./io.js";

export interface ParsedArgs {
  readonly positional: readonly string[];
  readonly flags: Readonly<Record<string, boolean>>;
  readonly values: Readonly<Record<string, string>>;
  readonly help: boolean;
}

/**
 * Parses `--flag`, `--name value` / `--name=value` and positionals. An unknown option is a
 * UsageError (one line, exit 2) that names the command's --help.
 */
export function parseArgs(argv: readonly string[], spec: { command?: string; flags?: readonly string[]; values?: readonly string[]; help?: string }): ParsedArgs {
  const seeHelp = spec.command ? ` (see leash ${spec.command} --help)` : "";
  const flags: Record<string, boolean> = {};
  const values: Record<string, string> = {};
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a === "--help" || a === "-h") {
      help = true;
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = a.slice(2, eq < 0 ? undefined : eq);
      if (spec.flags?.includes(name) && eq < 0) flags[name] = true;
      else if (spec.values?.includes(name)) {
        const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        values[name] = v;
      } else throw new UsageError(`unknown option ${a}${seeHelp}`);
      continue;
    }
    if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}${seeHelp}`);
    positional.push(a);
  }
  return { positional, flags, values, help };
}

/** The range of a numeric option; every numeric option has one, stated in its --help and docs/cli.md. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/**
 * A numeric option's value: undefined when not given, else a whole number within `range`; anything
 * else (a fraction, `1e3`, a number past the range such as 99999999999999999999) is a UsageError
 * that states the range.
 */
export function intOption(value: string | undefined, name: string, range: IntRange): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,16}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    throw new UsageError(`${name} takes a whole number from ${range.min.toLocaleString("en")} to ${range.max.toLocaleString("en")}, got ${shown}`);
  }
  return n;
}

/** The ranges of the numeric options of `leash test` and `leash diff` (docs/cli.md). */
export const RANGES = {
  /** Random traces per claim or search round. */
  runs: { min: 1, max: 1_000_000 },
  /** Seeds are 31-bit, as `randomSeed` draws them. */
  seed: { min: 0, max: 0x7fffffff },
  /** Time limit per claim in ms: at most an hour. */
  timeout: { min: 1, max: 3_600_000 },
  /** Shrunk examples per difference group. */
  examples: { min: 1, max: 100 },
  /** Events of the longest trace the exhaustive mode checks: the tree grows as letters^N. */
  exhaustive: { min: 1, max: 6 },
} as const satisfies Record<string, IntRange>;
