import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { escapeInvisible } from "../syntax/strings.js";

/** What a CLI command may touch, so tests can run commands in-process and capture output. */
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readFile: (path: string) => string;
  readonly writeFile: (path: string, text: string) => void;
  /** All of standard input (a file argument `-`); absent where there is none. */
  readonly readStdin?: () => string;
  readonly cwd: string;
  /** Colours on stdout (see `streamColor`). */
  readonly color: boolean;
  /** Colours on stderr, where diagnostics go; `color` when absent. */
  readonly stderrColor?: boolean;
  /** True under CI=true or when stderr is not a TTY: no progress bars. */
  readonly quiet: boolean;
}

/** Exit codes, documented in docs/cli.md: 0 ok, 1 policy/check failure, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

/** A usage error: the CLI prints `leash: <message>` on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The file argument that means standard input. */
export const STDIN = "-";

/** How a file argument is named in messages: `<stdin>` for `-`, else the path with invisible characters escaped. */
export function displayName(path: string): string {
  return path === STDIN ? "<stdin>" : escapeInvisible(path);
}

/** Colours for what a command prints on stderr. */
export function stderrColor(io: CliIO): boolean {
  return io.stderrColor ?? io.color;
}

/** The text of a file argument: `-` is standard input, a relative path is relative to `io.cwd`. */
export function readText(io: CliIO, path: string): string {
  if (path === STDIN) {
    if (!io.readStdin) throw new UsageError("standard input is not available");
    try {
      return io.readStdin();
    } catch (e) {
      throw new UsageError(`cannot read standard input: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  try {
    return io.readFile(resolve(io.cwd, path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const shown = displayName(path);
    throw new UsageError(code === "ENOENT" ? `no such file: ${shown}` : code === "EISDIR" ? `is a directory: ${shown}` : `cannot read ${shown}: ${code ?? String(e)}`);
  }
}

/**
 * Whether to colour a stream: `FORCE_COLOR` decides when set (`0` or `false` off, anything else on),
 * then a non-empty `NO_COLOR` turns colours off, as does `TERM=dumb`; otherwise colours are on when
 * the stream is a terminal. Decided per stream: `leash check > out.txt` on a terminal still colours
 * its diagnostics on stderr.
 */
export function streamColor(stream: { readonly isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

export function nodeIO(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readFile: (p) => readFileSync(p, "utf8"),
    writeFile: (p, t) => writeFileSync(p, t),
    readStdin: () => readFileSync(0, "utf8"),
    cwd: process.cwd(),
    color: streamColor(process.stdout, process.env),
    stderrColor: streamColor(process.stderr, process.env),
    quiet: process.env.CI === "true" || !process.stderr.isTTY,
  };
}
