import { fork, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/** tsx's loader by path: the child may run in a directory outside the repository. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** A server started by test/e2e/codegen-child.ts in a process that allows code generation (see there). */
export interface ChildServer {
  readonly url: string;
  snapshot<T>(): Promise<T>;
  close(): Promise<void>;
}

export async function startInChild(moduleUrl: string, exportName: string): Promise<ChildServer> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./codegen-child.ts", import.meta.url)), [moduleUrl, exportName], {
    execArgv: ["--import", TSX],
    env: { ...process.env, NODE_OPTIONS: "" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = <T>(): Promise<T> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the server process exited with ${code}`));
      child.once("exit", onExit);
      child.once("message", (m) => {
        child.off("exit", onExit);
        resolve(m as T);
      });
    });
  const { url } = await next<{ url: string }>();
  return {
    url,
    async snapshot<T>() {
      const reply = next<{ snapshot: T }>();
      child.send({ op: "snapshot" });
      return (await reply).snapshot;
    },
    async close() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once("exit", r));
      child.send({ op: "close" });
      await done;
    },
  };
}
