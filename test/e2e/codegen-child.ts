/**
 * Runs a server that needs code generation from strings (fastify: find-my-way compiles its route
 * parameter readers with `new Function`) in a process of its own, outside the tests'
 * --disallow-code-generation-from-strings; the parent test talks to it over HTTP and IPC.
 *
 * argv: MODULE_URL EXPORT. The export is a fastify instance (listened on 127.0.0.1) or a function
 * returning `{ url, snapshot?(), close() }`. Messages: `snapshot` answers `snapshot()`, `close`
 * closes and exits. The first message sent is `{ url }`.
 */
const [moduleUrl, exportName] = process.argv.slice(2) as [string, string];
const mod = (await import(moduleUrl)) as Record<string, unknown>;
const target = mod[exportName];

interface Running {
  readonly url: string;
  snapshot?(): unknown;
  close(): Promise<void>;
}

let running: Running;
if (typeof target === "function") running = (await (target as () => Promise<Running>)()) as Running;
else {
  const app = target as { listen(o: { port: number; host: string }): Promise<string>; close(): Promise<void> };
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  running = { url, close: () => app.close() };
}

process.on("message", async (msg: { op: "snapshot" | "close" }) => {
  if (msg.op === "snapshot") process.send!({ snapshot: (await running.snapshot?.()) ?? null });
  else {
    await running.close();
    process.send!({ closed: true }, () => process.exit(0));
  }
});
process.send!({ url: running.url });
export {};
