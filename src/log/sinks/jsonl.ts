import { close as closeFile, closeSync, fstatSync, open, openSync, write, writeSync } from "node:fs";
import { LogDropped, type LineSink } from "../sink.js";

export interface JsonlSinkOptions {
  /** Most characters waiting to be written (default 8 MiB); lines beyond it are dropped (R336). */
  readonly maxBuffered?: number;
  /** Longest time a line waits before its batch is written (ms, default 100). 0 writes after every turn of the event loop. */
  readonly flushIntervalMs?: number;
  /** A batch this large (characters, default 64 KiB) is written at once, without waiting for the interval. */
  readonly maxBatch?: number;
}

/** A JSONL sink: a `LogSink` with the file it appends to. */
export type JsonlSink = LineSink & {
  readonly path: string;
  /** Resolves once every line taken so far is in the file (handed to the operating system). */
  flush(): Promise<void>;
  /** Writes what is left and closes the file; later lines are refused (R335). */
  close(): Promise<void>;
};

/** A batch handed to the file: its bytes, where the file should end once it is written, and who waits on it. */
interface InFlight {
  readonly bytes: Buffer;
  /** The file's size after this batch, when this sink is its only writer (-1 when unknown). */
  readonly end: number;
  readonly done: Deferred;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: Error): void;
}

/**
 * A sink that appends one JSON line per event to a file. Lines are batched: a batch is written in
 * one `write` when it reaches `maxBatch` characters or `flushIntervalMs` after its first line,
 * whichever comes first, and on `flush()` and `close()` — never inside the decision that made a
 * line. One write is in flight at a time; a disk that does not keep up fills the buffer, and lines
 * beyond `maxBuffered` are dropped and counted (R336).
 *
 * When the process exits (`process.exit`, the end of the event loop, an uncaught exception) the
 * lines still buffered are written synchronously, and a batch in flight whose bytes did not reach
 * the file is written again from where the file ends: no line taken is lost, and none is written
 * twice while this sink is the file's only writer. A signal that kills the process without an `exit` event (SIGTERM or SIGINT without a
 * handler, SIGKILL, the OOM killer) loses at most the lines of the last `flushIntervalMs`; call
 * `log.close()` from your SIGTERM handler. Lines are not fsynced (docs/monitoring.md).
 */
export function jsonlSink(path: string, options: JsonlSinkOptions = {}): JsonlSink {
  const maxBuffered = options.maxBuffered ?? 8 * 1024 * 1024;
  const interval = Math.max(0, options.flushIntervalMs ?? 100);
  const maxBatch = Math.max(1, options.maxBatch ?? 64 * 1024);
  let fd: number | null = null;
  let opening: Promise<number> | null = null;
  let failure: Error | null = null;
  /** Lines taken and not yet handed to the file, and the promise their writes settle. */
  let batch = "";
  let batchDone: Deferred | null = null;
  /** Characters taken and not yet written (the batch, and the one in flight). */
  let buffered = 0;
  let inFlight: InFlight | null = null;
  /** The file's size once every batch handed to it is written (-1: unknown, another writer or no stat). */
  let size = -1;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let immediate: ReturnType<typeof setImmediate> | null = null;
  let closed = false;

  const openFile = (): Promise<number> =>
    (opening ??= new Promise<number>((resolve, reject) => {
      open(path, "a", (e, f) => {
        if (e) return reject(e);
        fd = f;
        try {
          size = fstatSync(f).size;
        } catch {
          size = -1;
        }
        resolve(f);
      });
    }));

  const fail = (e: Error) => {
    failure ??= e;
  };

  /** Hands the batch to the file once the one in flight is written; resolves when this batch is written. */
  const drain = (): Promise<void> => {
    cancelTimers();
    if (batchDone === null) return inFlight?.done.promise.catch(() => undefined) ?? Promise.resolve();
    if (inFlight !== null) return inFlight.done.promise.then(drain, drain);
    const text = batch;
    const done = batchDone;
    batch = "";
    batchDone = null;
    if (failure !== null) {
      buffered -= text.length;
      done.reject(failure);
      return done.promise.catch(() => undefined);
    }
    const bytes = Buffer.from(text, "utf8");
    const flight: InFlight = { bytes, end: size < 0 ? -1 : size + bytes.length, done };
    inFlight = flight;
    const finish = (e: Error | null) => {
      buffered -= text.length;
      inFlight = null;
      if (e) {
        fail(e);
        done.reject(e);
      } else {
        size = flight.end;
        done.resolve();
      }
      if (batchDone !== null && batch.length >= maxBatch) void drain();
    };
    const put = (f: number) => writeAll(f, bytes, 0, finish);
    if (fd !== null) put(fd);
    else openFile().then(put, (e: Error) => finish(e));
    return done.promise.catch(() => undefined);
  };

  const cancelTimers = () => {
    if (timer !== null) clearTimeout(timer);
    if (immediate !== null) clearImmediate(immediate);
    timer = null;
    immediate = null;
  };

  const schedule = () => {
    if (batch.length >= maxBatch) {
      if (immediate === null) immediate = setImmediate(drain);
    } else if (timer === null && immediate === null) {
      if (interval === 0) immediate = setImmediate(drain);
      else {
        timer = setTimeout(drain, interval);
        timer.unref();
      }
    }
  };

  /** At exit: the batch in flight (what of it the file lacks) and the buffered lines, synchronously. */
  const writeNow = () => {
    cancelTimers();
    if (failure !== null || (inFlight === null && batch === "")) return;
    try {
      const f = fd ?? openSync(path, "a");
      if (inFlight !== null) {
        const { bytes, end } = inFlight;
        const start = end - bytes.length;
        const have = end < 0 ? -1 : fstatSync(f).size;
        // Written already when the file ends where the batch does; with another writer or no stat, write it.
        if (have !== end) writeAllSync(f, have >= start && have < end ? bytes.subarray(have - start) : bytes);
      }
      if (batch !== "") writeAllSync(f, Buffer.from(batch, "utf8"));
      batch = "";
      if (fd === null) closeSync(f);
    } catch {
      // The process is ending; nothing is left to report to.
    }
  };

  return {
    name: `jsonl(${path})`,
    path,
    lineOnly: true,
    write(line) {
      if (closed) throw new Error(`${path}: the sink is closed`);
      if (failure !== null) throw failure;
      if (buffered + line.length + 1 > maxBuffered) throw new LogDropped(`${path}: ${buffered} characters are waiting to be written (maxBuffered ${maxBuffered})`);
      if (batchDone === null) {
        batchDone = deferred();
        atExit.add(writeNow);
        hookExit();
      }
      batch += line + "\n";
      buffered += line.length + 1;
      schedule();
      return batchDone.promise;
    },
    flush: () => drain(),
    async close() {
      if (closed) return;
      closed = true;
      await drain();
      atExit.delete(writeNow);
      const f = fd ?? (opening !== null ? await opening.catch(() => null) : null);
      fd = null;
      if (f !== null) await new Promise<void>((resolve) => closeFile(f, () => resolve()));
    },
  };
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  // Marked handled here: the log counts the failure, an unobserved rejection must not crash the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** `write` until every byte is written (a regular file may take fewer bytes than it was given). */
function writeAll(fd: number, bytes: Buffer, from: number, done: (e: Error | null) => void): void {
  write(fd, bytes, from, bytes.length - from, null, (e, n) => {
    if (e) return done(e);
    if (from + n < bytes.length) return writeAll(fd, bytes, from + n, done);
    done(null);
  });
}

function writeAllSync(fd: number, bytes: Buffer): void {
  let from = 0;
  while (from < bytes.length) from += writeSync(fd, bytes, from, bytes.length - from);
}

/** Sinks with lines not yet in their files: written synchronously when the process exits. */
const atExit = new Set<() => void>();
let hooked = false;
const hookExit = () => {
  if (hooked || typeof process === "undefined" || typeof process.on !== "function") return;
  hooked = true;
  process.on("exit", () => {
    for (const f of atExit) f();
  });
};
