import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePolicy } from "../../src/compile/compile.js";
import type { CliIO } from "../../src/cli/io.js";

export const ROOT = join(__dirname, "..", "..");
export const EXAMPLES = join(ROOT, "examples");

/** Compiles a policy that must compile; returns the policy, its AST and source. */
export function compiled(source: string, file = "test.rules") {
  const r = compilePolicy(source, { file });
  if (r.policy === null) throw new Error(`does not compile:\n${r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n")}`);
  return { policy: r.policy, ast: r.ast, source };
}

export function example(name: string): string {
  return readFileSync(join(EXAMPLES, name), "utf8");
}

/** A CLI IO that keeps output and written files in memory; reads fall back to the disk. */
export function memoryIO(files: Record<string, string> = {}, cwd = ROOT): CliIO & { out: string; err: string; files: Record<string, string> } {
  const io = {
    out: "",
    err: "",
    files,
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => (p in files ? files[p]! : readFileSync(p, "utf8")),
    writeFile: (p: string, t: string) => void (files[p] = t),
    cwd,
    color: false,
    quiet: true,
  };
  return io;
}
