import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Runs `module` (a bench file URL) in a child process with `args` and the same loader flags as
 * this process, and resolves with the one message the child sends (`process.send(result)`). A
 * child that exits without sending rejects with `what` in the message. `execArgv` replaces the
 * loader flags (`[]`: plain node, for a child that is JavaScript).
 */
export function resultOfChild<T>(module: string, args: readonly string[], what: string, execArgv?: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(module), [...args], { stdio: ["ignore", "ignore", "inherit", "ipc"], ...(execArgv === undefined ? {} : { execArgv: [...execArgv] }) });
    let result: { value: T } | null = null;
    child.on("message", (msg) => (result = { value: msg as T }));
    child.on("error", reject);
    child.on("exit", (code) => (result !== null ? resolve(result.value) : reject(new Error(`${what} exited with ${code} and no result`))));
  });
}
