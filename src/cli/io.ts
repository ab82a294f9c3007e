import { readFileSync, writeFileSync } from "node:fs";
/** What a CLI command may touch, so tests can run commands in-process and capture output. */
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readFile: (path: string) => string;
  readonly writeFile: (path: string, text: string) => void;
  readonly cwd: string;
  /** Colours on: a TTY without NO_COLOR. */
  readonly color: boolean;
  /** True under CI=true or when stdout is not a TTY: no progress bars. */
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

export function readText(io: CliIO, path: string): string {
  try {
    return io.readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === "ENOENT" ? `no such file: ${path}` : code === "EISDIR" ? `is a directory: ${path}` : `cannot read ${path}: ${code ?? String(e)}`);
  }
}

export function nodeIO(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readFile: (p) => readFileSync(p, "utf8"),
    writeFile: (p, t) => writeFileSync(p, t),
    cwd: process.cwd(),
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    quiet: process.env.CI === "true" || !process.stderr.isTTY,
  };
}
