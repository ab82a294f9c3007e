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

/**
 * An integer option between `min` and `max` (both documented with the command), or undefined when
 * absent; anything else is a UsageError that names both bounds.
 */
export function intOption(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} takes an integer from ${min} to ${max.toLocaleString("en-US")}, got ${JSON.stringify(v)}`);
  }
  return n;
}
