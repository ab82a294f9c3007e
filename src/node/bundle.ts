import { readFileSync, statSync } from "node:fs";
import { syntheticSpan } from "../ast/span.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { Guard } from "../guard/types.js";
import { loadCompiled, type LoadCompiledOptions, type LoadCompiledResult } from "../runtime/compiled.js";
import { errorCode } from "./load.js";

/**
 * Reads a bundle (what `leash build DIR -o bundle.json` writes) and loads it with `loadCompiled`:
 * a bundle changed after it was built (its digest does not match, R323), from another leash
 * version (R322) or not the one `options.digest` pins (R324) is refused. A file that cannot be read
 * is C298. Never throws.
 */
export function loadBundle(path: string, options: Omit<LoadCompiledOptions, "file"> = {}): LoadCompiledResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return { policy: null, diagnostics: [diagnostic("C298", syntheticSpan(path), `cannot read ${path}: ${errorCode(e)}`, "check the path")] };
  }
  return loadCompiled(text, { ...options, file: path });
}

export interface WatchBundleOptions extends Omit<LoadCompiledOptions, "file"> {
  /** How often to look at the file, in milliseconds (default 1,000). */
  readonly intervalMs?: number;
  /** Called with the new policy's hash after each swap. */
  readonly onSwap?: (hash: string) => void;
  /** Called when a changed bundle is refused; the Guard keeps the policy it has. */
  readonly onRefused?: (diagnostics: readonly Diagnostic[]) => void;
}

/**
 * Keeps a Guard on the bundle at `path`: each time the file changes, it is loaded (`loadBundle`)
 * and, when it loads and is another policy (another digest), the Guard swaps to it with
 * `setPolicy` (history carries over). A bundle that is refused leaves the Guard on its policy and is
 * reported to `onRefused`. Returns a function that stops watching.
 */
export function watchBundle(guard: Guard, path: string, options: WatchBundleOptions = {}): () => void {
  const { intervalMs = 1000, onSwap, onRefused, ...load } = options;
  // The file's stamp is taken before its digest, and both in this call: a rebuild that lands after
  // watchBundle returns differs from the stamp by construction (fs.watchFile would take its first
  // reading later, on its own thread).
  let seen = stamp(path);
  let digest: string | null = currentDigest(path);
  let queue: Promise<void> = Promise.resolve();
  const changed = () => {
    queue = queue.then(async () => {
      const r = loadBundle(path, load);
      if (r.policy === null) {
        onRefused?.(r.diagnostics);
        return;
      }
      const next = currentDigest(path);
      if (next !== null && next === digest) return;
      digest = next;
      await guard.setPolicy(r.policy);
      onSwap?.(r.policy.hash);
    });
  };
  const timer = setInterval(() => {
    const now = stamp(path);
    if (now === seen) return;
    seen = now;
    changed();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** What tells one version of the file at `path` from the next: its modification time, size and inode ("" when it cannot be read). */
function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return "";
  }
}

/** The `digest` field of the bundle at `path`, or null when it cannot be read as one. */
function currentDigest(path: string): string | null {
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as { digest?: unknown };
    return typeof v.digest === "string" ? v.digest : null;
  } catch {
    return null;
  }
}
