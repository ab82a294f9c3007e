/**
 * The test runner, off the page's thread: runs a policy's `test` blocks and checks its `property`
 * claims with leash/testing, posting progress before each one and the report at the end.
 */
import { testPolicySource } from "leash/testing";

export type WorkerRequest = { readonly id: number; readonly source: string; readonly runs: number };
export type WorkerMessage =
  | { readonly type: "progress"; readonly id: number; readonly done: number; readonly total: number; readonly running: string }
  | { readonly type: "done"; readonly id: number; readonly report: ReturnType<typeof testPolicySource> }
  | { readonly type: "error"; readonly id: number; readonly message: string };

const post = (m: WorkerMessage) => (self as unknown as Worker).postMessage(m);

self.onmessage = (e: MessageEvent<WorkerRequest>) => {
  const { id, source, runs } = e.data;
  try {
    const report = testPolicySource(source, { file: "policy.rules", runs, onProgress: (p) => post({ type: "progress", id, ...p }) });
    // Through JSON: the report is plain data, and this drops anything a structured clone would refuse.
    post({ type: "done", id, report: JSON.parse(JSON.stringify(report)) });
  } catch (err) {
    post({ type: "error", id, message: err instanceof Error ? err.message : String(err) });
  }
};
