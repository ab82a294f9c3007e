import { createWriteStream, type WriteStream } from "node:fs";
import { LogDropped, type LogSink } from "../sink.js";

export interface JsonlSinkOptions {
  /** Most characters waiting to be written (default 8 MiB); lines beyond it are dropped (R336). */
  readonly maxBuffered?: number;
}

/**
 * A sink that appends one JSON line per event to a file. Lines taken in one turn of the event loop
 * are written together in one `write`, after the decisions that made them have returned; a disk
 * that does not keep up fills the buffer, and lines beyond `maxBuffered` are dropped and counted.
 */
export function jsonlSink(path: string, options: JsonlSinkOptions = {}): LogSink & { readonly path: string } {
  const maxBuffered = options.maxBuffered ?? 8 * 1024 * 1024;
  let stream: WriteStream | null = null;
  let failure: Error | null = null;
  let batch: string[] = [];
  let batchChars = 0;
  /** Characters taken and not yet written. */
  let buffered = 0;
  let pending: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | null = null;
  let scheduled = false;
  let closed = false;
  /** The last batch handed to the stream: settles when it is written. */
  let lastWrite: Promise<void> = Promise.resolve();

  const open = (): WriteStream => {
    if (stream === null) {
      stream = createWriteStream(path, { flags: "a", encoding: "utf8" });
      stream.on("error", (e) => (failure = e));
    }
    return stream;
  };

  /** Hands the current batch to the stream; resolves when it is written. */
  const drain = (): Promise<void> => {
    scheduled = false;
    const p = pending;
    if (p === null) return lastWrite;
    const text = batch.join("\n") + "\n";
    const chars = batchChars;
    batch = [];
    batchChars = 0;
    pending = null;
    const s = open();
    if (failure !== null || s.destroyed) {
      buffered -= chars;
      p.reject(failure ?? new Error(`${path}: the file is closed`));
      return p.promise.catch(() => undefined);
    }
    s.write(text, (e) => {
      buffered -= chars;
      if (e) p.reject(e);
      else p.resolve();
    });
    lastWrite = p.promise.catch(() => undefined);
    return lastWrite;
  };

  return {
    name: `jsonl(${path})`,
    path,
    write(line) {
      if (closed) throw new Error(`${path}: the sink is closed`);
      if (failure !== null) throw failure;
      if (buffered + line.length + 1 > maxBuffered) throw new LogDropped(`${path}: ${buffered} characters are waiting to be written (maxBuffered ${maxBuffered})`);
      batch.push(line);
      batchChars += line.length + 1;
      buffered += line.length + 1;
      if (pending === null) {
        let resolve!: () => void;
        let reject!: (e: Error) => void;
        const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
        // Marked handled here: the log counts the failure, an unobserved rejection must not crash the process.
        promise.catch(() => undefined);
        pending = { promise, resolve, reject };
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
      return pending.promise;
    },
    flush: () => drain(),
    async close() {
      if (closed) return;
      await drain();
      closed = true;
      const s = stream;
      if (s === null || s.destroyed) return;
      await new Promise<void>((resolve) => s.end(() => resolve()));
    },
  };
}
