import { readdirSync, realpathSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { isPolicyDirectory, rulesFilesUnder } from "../node/load.js";
import { STDIN, UsageError, type CliIO } from "./io.js";

/**
 * The files that file arguments name: FILES as given, `-` (standard input) as given, and for each
 * directory the `*.rules` files in it — with `recursive`, in its subdirectories too, skipping
 * `node_modules` and dot directories. Each file and directory is visited once by its real path, so
 * symbolic links (a loop such as `sub/up -> ..`, or two links to one file) never repeat a file.
 * Directory entries are sorted; a path that does not exist is kept, to be reported when it is read.
 * A directory with a `leash.policy.json` is one policy of several files: it is listed itself (a
 * path ending in `/`), not its files.
 */
export function findRulesFiles(paths: readonly string[], io: CliIO, recursive: boolean): string[] {
  const out: string[] = [];
  const files = new Set<string>();
  const dirs = new Set<string>();
  const add = (shown: string, real: string) => {
    if (files.has(real)) return;
    files.add(real);
    out.push(shown);
  };
  const walk = (dir: string, real: string) => {
    if (dirs.has(real)) return;
    dirs.add(real);
    let entries: string[];
    try {
      entries = readdirSync(real).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      if (name.startsWith(".") || name === "node_modules") continue;
      const shown = dir === "." ? name : join(dir, name);
      const found = realEntry(join(real, name));
      if (found === null) continue;
      if (found.directory) {
        if (recursive && isPolicyDirectory(found.real)) add(`${shown}/`, found.real);
        else if (recursive) walk(shown, found.real);
      } else if (name.endsWith(".rules")) add(shown, found.real);
    }
  };
  for (const p of paths) {
    if (p === STDIN) {
      out.push(p);
      continue;
    }
    const found = realEntry(resolve(io.cwd, p));
    if (found === null) out.push(p);
    else if (found.directory && isPolicyDirectory(found.real)) add(p.endsWith("/") ? p : `${p}/`, found.real);
    else if (found.directory) walk(p, found.real);
    else add(p, found.real);
  }
  return out;
}

/** A path's real path and whether it is a directory (following links), or null when it cannot be read. */
function realEntry(path: string): { real: string; directory: boolean } | null {
  try {
    const real = realpathSync(path);
    return { real, directory: statSync(real).isDirectory() };
  } catch {
    return null;
  }
}

/**
 * The files of a command that takes FILES and DIRS: `findRulesFiles` of the arguments, refusing
 * directories without `.rules` files and `-` given twice.
 */
export function rulesFileArguments(paths: readonly string[], io: CliIO, recursive: boolean): string[] {
  const files = findRulesFiles(paths, io, recursive);
  if (paths.filter((p) => p === STDIN).length > 1) throw new UsageError("standard input (-) can be read only once");
  if (files.length === 0) throw new UsageError(`no .rules files in ${paths.join(", ")}${recursive ? "" : " (--recursive searches subdirectories)"}`);
  return files;
}

/** Whether a file argument (from `findRulesFiles`) is a policy directory rather than a file. */
export function isPolicyDirectoryArgument(file: string): boolean {
  return file.endsWith("/");
}

/** `findRulesFiles` with each policy directory replaced by its files: for commands that work file by file (fmt). */
export function eachRulesFile(paths: readonly string[], io: CliIO, recursive: boolean): string[] {
  return rulesFileArguments(paths, io, recursive).flatMap((f) => (isPolicyDirectoryArgument(f) ? rulesFilesUnder(resolve(io.cwd, f)).map((abs) => join(f, relative(resolve(io.cwd, f), abs))) : [f]));
}
